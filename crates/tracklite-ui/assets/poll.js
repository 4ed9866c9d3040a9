// Live refresh: calls a function every interval while the page is visible
// and the caller says there is something live to show.

export const POLL_MS = 2000;

/**
 * Starts polling: `tick()` is awaited every `ms` while `active()` is true and
 * the document is visible; ticks never overlap. Returns a stop function.
 */
export function startPolling(tick, active, ms = POLL_MS) {
  let stopped = false;
  let timer = null;
  let running = false;
  const schedule = () => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(run, ms);
  };
  const run = async () => {
    if (stopped || running) return;
    // Hidden: no timer at all; the visibilitychange listener resumes.
    if (document.visibilityState !== "visible") return;
    if (!active()) {
      schedule();
      return;
    }
    running = true;
    try {
      await tick();
    } catch (err) {
      console.warn("tracklite: refresh failed", err);
    } finally {
      running = false;
      schedule();
    }
  };
  const onVisibility = () => {
    if (document.visibilityState === "visible") run();
  };
  document.addEventListener("visibilitychange", onVisibility);
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("visibilitychange", onVisibility);
  };
}
