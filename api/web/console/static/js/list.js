// The list: filters (namespace, label selector, phase), pages, live phase badges.

import { api, watch } from "./api.js";
import { PHASES, badge, detailHash, h, keyOf, takeFlash } from "./dom.js";

const PAGE = 20;

function row(obj) {
  const { metadata, spec, status = {} } = obj;
  return h(
    "tr",
    { "data-key": keyOf(obj) },
    h("th", { scope: "row" }, h("a", { href: detailHash(metadata.namespace, metadata.name) }, metadata.name)),
    h("td", {}, metadata.namespace),
    h("td", {}, spec.app),
    h("td", {}, spec.environment),
    h("td", { class: "num" }, spec.replicas),
    h("td", { class: "num" }, metadata.resourceVersion),
    h("td", { class: "num" }, status.appliedVersion || "–"),
    h("td", {}, badge(status.phase)),
  );
}

function filters(query) {
  const phase = query.get("phase") || "";
  return h(
    "form",
    { class: "filters", role: "search", "aria-label": "Filter AppConfigs" },
    h("label", { for: "f-namespace" }, "Namespace"),
    h("input", { id: "f-namespace", name: "namespace", value: query.get("namespace") || "" }),
    h("label", { for: "f-selector" }, "Label selector"),
    h("input", {
      id: "f-selector",
      name: "labelSelector",
      placeholder: "team=shop,tier!=db",
      value: query.get("labelSelector") || "",
    }),
    h("label", { for: "f-phase" }, "Phase"),
    h(
      "select",
      { id: "f-phase", name: "phase" },
      h("option", { value: "" }, "Any"),
      PHASES.map((p) => h("option", { value: p, selected: p === phase }, p)),
    ),
    h("button", { type: "submit" }, "Filter"),
  );
}

export function renderList(root, query) {
  const state = { items: new Map(), tokens: [null], index: 0, next: null };
  const phase = query.get("phase") || "";
  const live = h("span", { class: "live", role: "status", "aria-live": "polite" }, "Connecting…");
  const tbody = h("tbody");
  const empty = h("p", { class: "empty", hidden: true }, "No AppConfigs match.");
  const error = h("p", { class: "flash flash-error", role: "alert", hidden: true });
  const prev = h("button", { type: "button", disabled: true }, "Previous page");
  const next = h("button", { type: "button", disabled: true }, "Next page");
  const form = filters(query);

  const draw = () => {
    const shown = [...state.items.values()].filter((o) => !phase || (o.status || {}).phase === phase);
    tbody.replaceChildren(...shown.map(row));
    empty.hidden = shown.length > 0;
    prev.disabled = state.index === 0;
    next.disabled = !state.next;
  };
  const load = async () => {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (query.get("labelSelector")) params.set("labelSelector", query.get("labelSelector"));
    if (state.tokens[state.index]) params.set("continue", state.tokens[state.index]);
    const ns = query.get("namespace");
    const base = ns ? `/api/v1/namespaces/${encodeURIComponent(ns)}/appconfigs` : "/api/v1/appconfigs";
    try {
      const { data } = await api("GET", `${base}?${params}`);
      state.items = new Map(data.items.map((o) => [keyOf(o), o]));
      state.next = data.metadata.continue || null;
      error.hidden = true;
    } catch (err) {
      error.textContent = `Could not list AppConfigs: ${err.message}`;
      error.hidden = false;
      state.items = new Map();
    }
    draw();
  };
  const onChange = (ev) => {
    const key = keyOf(ev.object);
    if (ev.type === "DELETED") state.items.delete(key);
    else if (state.items.has(key) || (state.index === 0 && !state.next)) {
      state.items.set(key, ev.object);
      state.items = new Map([...state.items].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    draw();
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams([...new FormData(form)].filter(([, v]) => v));
    location.hash = `#/?${params}`;
  });
  prev.addEventListener("click", () => { state.index -= 1; load(); });
  next.addEventListener("click", () => { state.tokens[state.index + 1] = state.next; state.index += 1; load(); });

  root.append(
    h("div", { class: "title" }, h("h1", {}, "AppConfigs"), live, h("a", { class: "button", href: "#/new" }, "New AppConfig")),
    takeFlash() || "",
    form,
    error,
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "list" },
        h("caption", { class: "sr-only" }, "AppConfigs with their sync phase"),
        h(
          "thead",
          {},
          h("tr", {}, ["Name", "Namespace", "App", "Environment", "Replicas", "Desired", "Applied", "Phase"].map((c) => h("th", { scope: "col" }, c))),
        ),
        tbody,
      ),
    ),
    empty,
    h("nav", { class: "pager", "aria-label": "Pages" }, prev, next),
  );
  const stream = watch(
    { namespace: query.get("namespace"), labelSelector: query.get("labelSelector") },
    { onChange, onReady: load, onState: (text) => { live.textContent = text; } },
  );
  return { destroy: () => stream.close() };
}
