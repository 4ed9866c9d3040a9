// A run's artifacts: a tree whose folders open on demand, and a preview
// of the chosen file (images drawn, text shown up to its first 64 KiB).

import { apiUrl, getJson } from "../api.js";
import { h, fmtBytes } from "../dom.js";

const TEXT_PREVIEW_BYTES = 64 * 1024;
const IMAGE = /\.(png|jpe?g|gif|webp)$/i;

function baseName(path) {
  return path.split("/").pop();
}

export function artifactBrowser(runId) {
  const preview = h("div", { class: "preview", "data-testid": "artifact-preview" }, h("p", { class: "muted" }, "Choose a file to preview it."));
  const tree = h("ul", { class: "tree", "data-testid": "artifacts" });
  let chosen = null;

  async function list(path, into) {
    const data = await getJson("/api/artifacts", { run_id: runId, path: path || null });
    const files = [...data.files].sort((a, b) => (b.is_dir - a.is_dir) || a.path.localeCompare(b.path));
    if (files.length === 0 && !path) {
      into.append(h("li", { class: "muted", "data-testid": "no-artifacts" }, "No artifacts."));
    }
    for (const f of files) into.append(f.is_dir ? folder(f) : file(f));
  }

  function folder(f) {
    const children = h("ul", { class: "tree", hidden: true });
    let loaded = false;
    const toggle = h(
      "button",
      {
        type: "button",
        class: "linklike",
        "data-testid": "artifact-dir",
        "data-path": f.path,
        onclick: async () => {
          children.hidden = !children.hidden;
          toggle.textContent = `${children.hidden ? "▸" : "▾"} ${baseName(f.path)}/`;
          if (!loaded) {
            loaded = true;
            await list(f.path, children);
          }
        },
      },
      `▸ ${baseName(f.path)}/`,
    );
    return h("li", {}, toggle, children);
  }

  function file(f) {
    const link = h(
      "button",
      {
        type: "button",
        class: "linklike",
        "data-testid": "artifact-file",
        "data-path": f.path,
        onclick: () => {
          if (chosen) chosen.classList.remove("chosen");
          chosen = link;
          link.classList.add("chosen");
          show(f);
        },
      },
      baseName(f.path),
    );
    return h("li", {}, link, h("span", { class: "muted" }, ` ${fmtBytes(f.file_size)}`));
  }

  async function show(f) {
    const url = apiUrl("/api/artifact", { run_id: runId, path: f.path });
    const head = h(
      "div",
      { class: "preview-head" },
      h("strong", { class: "mono" }, f.path),
      " ",
      h("a", { href: url, download: baseName(f.path) }, "download"),
    );
    if (IMAGE.test(f.path)) {
      preview.replaceChildren(head, h("img", { src: url, alt: f.path, "data-testid": "artifact-image" }));
      return;
    }
    preview.replaceChildren(head, h("p", { class: "muted" }, "Loading…"));
    const response = await fetch(apiUrl("/api/artifact", { run_id: runId, path: f.path, max_bytes: TEXT_PREVIEW_BYTES }));
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      preview.replaceChildren(head, h("div", { class: "error-box" }, body.message || response.statusText));
      return;
    }
    const type = response.headers.get("Content-Type") || "";
    if (!type.startsWith("text/")) {
      preview.replaceChildren(head, h("p", { class: "muted" }, `No preview for this file type (${type || "unknown"}).`));
      return;
    }
    const text = await response.text();
    const truncated = response.headers.get("X-Tracklite-Truncated") === "true";
    preview.replaceChildren(
      head,
      h("pre", { class: "text-preview", "data-testid": "artifact-text" }, text),
      truncated ? h("p", { class: "muted", "data-testid": "artifact-truncated" }, `Showing the first ${fmtBytes(TEXT_PREVIEW_BYTES)}; download for the rest.`) : null,
    );
  }

  const element = h("div", { class: "artifacts" }, h("div", { class: "tree-pane" }, tree), preview);
  return { element, load: () => list(null, tree) };
}
