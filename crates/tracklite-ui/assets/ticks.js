// Axis ticks: "nice" numbers (1, 2, 5 × 10^k), decades for log axes, and
// calendar-friendly steps for time axes, with their labels.

/** About `count` evenly spaced round values covering [min, max]. */
export function niceTicks(min, max, count = 5) {
  if (!(max > min)) return [min];
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) {
    ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return ticks;
}

/** A tick label with as many decimals as the spacing between ticks needs. */
export function fmtTick(value, ticks) {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(value) || 1;
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-4)) return value.toExponential(1);
  let decimals = 0;
  while (decimals < 8 && Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) > 1e-6) {
    decimals += 1;
  }
  return value.toFixed(decimals);
}

/** A log axis label: 0.001 … 1000 written out, exponents beyond. */
export function fmtLogTick(value) {
  if (value >= 1e4 || value < 1e-3) return value.toExponential(0);
  return String(Number(value.toPrecision(6)));
}

/**
 * Ticks of a log axis between 10^lo and 10^hi (exponents given): the decades,
 * or, when fewer than two fit, nice linear values inside the range.
 */
export function logTicks(lo, hi, count = 5) {
  const decades = [];
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e += 1) decades.push(10 ** e);
  if (decades.length >= 2) {
    const every = Math.ceil(decades.length / count);
    return decades.filter((_, i) => i % every === 0);
  }
  return niceTicks(10 ** lo, 10 ** hi, count).filter((v) => v > 0);
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [
  SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND,
  MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 30 * DAY,
];

/** Ticks of a time axis (ms since the epoch) on whole local seconds, minutes, hours or days. */
export function timeTicks(min, max, count = 5) {
  const raw = (max - min) / Math.max(1, count);
  if (raw < SECOND) return niceTicks(min, max, count);
  const step = TIME_STEPS.find((s) => s >= raw) || Math.ceil(raw / DAY) * DAY;
  // Align to the local clock: days start at local midnight, not UTC's.
  const offset = step >= DAY ? new Date(min).getTimezoneOffset() * MINUTE : 0;
  const ticks = [];
  for (let v = Math.ceil((min - offset) / step) * step + offset; v <= max; v += step) ticks.push(v);
  return ticks;
}

const pad = (n) => String(n).padStart(2, "0");

/** A time tick's label: the clock for spans under a day, else the date (and hour). */
export function fmtTimeTick(ms, ticks) {
  const d = new Date(ms);
  const span = ticks.length > 1 ? ticks[ticks.length - 1] - ticks[0] : 0;
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 0;
  const clock = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (step < SECOND) return `${clock}:${pad(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  if (span < DAY) return step < MINUTE ? `${clock}:${pad(d.getSeconds())}` : clock;
  const date = `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return step >= DAY ? date : `${date} ${clock}`;
}
