// The viewer's entry point: a hash router that renders one page module at
// a time into <main>, and tears the previous one down (its polling, its
// charts) first.

import { getJson } from "./api.js";
import { h } from "./dom.js";
import { experimentsPage } from "./pages/experiments.js";
import { runsPage } from "./pages/runs.js";
import { runPage } from "./pages/run.js";
import { comparePage } from "./pages/compare.js";
import { modelsPage } from "./pages/models.js";
import { modelPage } from "./pages/model.js";

/** Routes, first match wins: a pattern over the hash's path and the page that renders it. */
const ROUTES = [
  [/^\/?$/, experimentsPage, "experiments"],
  [/^\/experiments\/?$/, experimentsPage, "experiments"],
  [/^\/experiments\/([^/]+)$/, runsPage, "experiments"],
  [/^\/compare$/, comparePage, "experiments"],
  [/^\/runs\/([^/]+)$/, runPage, "experiments"],
  [/^\/models\/?$/, modelsPage, "models"],
  [/^\/models\/([^/]+)$/, modelPage, "models"],
];

function parseHash() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const at = hash.indexOf("?");
  const path = at < 0 ? hash : hash.slice(0, at);
  const query = new URLSearchParams(at < 0 ? "" : hash.slice(at + 1));
  return { path, query };
}

let cleanups = [];
let current = 0; // the number of the route being shown

async function route() {
  for (const fn of cleanups) fn();
  cleanups = [];
  const mine = (current += 1);
  const { path, query } = parseHash();
  // Each route renders into its own element: a page still loading when the
  // user moves on writes into a detached element, never over the next page.
  const main = document.createElement("div");
  document.getElementById("main").replaceChildren(main);
  for (const [pattern, page, section] of ROUTES) {
    const m = path.match(pattern);
    if (!m) continue;
    for (const link of document.querySelectorAll("nav a[data-section]")) {
      link.classList.toggle("active", link.dataset.section === section);
    }
    const ctx = {
      main,
      params: m.slice(1).map(decodeURIComponent),
      query,
      // A page that finishes loading after the user left stops its polling at once.
      onCleanup: (fn) => (mine === current ? cleanups.push(fn) : fn()),
    };
    try {
      await page(ctx);
    } catch (err) {
      main.replaceChildren(pageError(err));
    }
    return;
  }
  main.replaceChildren(pageError(new Error(`No page at #${path}`)));
}

function pageError(err) {
  return h(
    "div",
    { class: "error-box", "data-testid": "page-error" },
    h("strong", {}, "Could not load this page: "),
    err.message,
  );
}

async function showStore() {
  try {
    const health = await getJson("/api/health");
    const el = document.getElementById("store");
    el.textContent = health.store;
    el.title = `tracklite ${health.version}, read-only`;
  } catch {
    // The pages report their own errors; the header just stays empty.
  }
}

window.addEventListener("hashchange", route);
showStore();
route();
