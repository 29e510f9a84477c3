// One AppConfig: spec, labels, per-target status, last error, Temporal link, timeline,
// history with a diff between any two revisions, commands to copy; delete and replay.

import { api, watch } from "./api.js";
import { badge, detailHash, h, itemPath, messageBox, setFlash, takeFlash, when } from "./dom.js";
import { diffLines, revisionLines } from "./diff.js";
import { timelineSvg } from "./timeline.js";

function section(id, title, ...body) {
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...body);
}

function dl(entries) {
  return h("dl", { class: "facts" }, entries.filter(Boolean).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function mapTable(caption, map) {
  const rows = Object.entries(map || {});
  if (!rows.length) return h("p", { class: "muted" }, `No ${caption.toLowerCase()}.`);
  return h("table", { class: "kv" }, h("caption", {}, caption),
    h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, String(v))))));
}

function copyable(label, text) {
  const code = h("pre", { class: "command", tabindex: 0 }, h("code", {}, text));
  const button = h("button", { type: "button", "aria-label": `Copy the ${label} command` }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      getSelection().selectAllChildren(code);
      document.execCommand("copy");
    }
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  });
  return h("div", { class: "copy" }, h("h3", {}, label), code, button);
}

function commands(obj) {
  const { namespace, name } = obj.metadata;
  const url = `${location.origin}${itemPath(namespace, name)}`;
  const bearer = '-H "Authorization: Bearer $RENDERSYNC_TOKEN"';
  return [
    copyable("curl", `curl -s ${bearer} '${url}'`),
    copyable("kubectl", `kubectl get appconfigs.rendersync.dev ${name} -n ${namespace} -o yaml`),
    copyable("temporal", `temporal workflow describe --workflow-id '${obj.status.workflowId}'`),
    copyable("replay", `curl -s -X POST ${bearer} '${url}/replay'`),
  ];
}

function targetsTable(status) {
  const entries = Object.entries(status.targets || {});
  if (!entries.length) return h("p", { class: "muted" }, "No target has reported yet.");
  return h("div", { class: "scroll" }, h("table", { class: "targets" },
    h("thead", {}, h("tr", {}, ["Target", "Applied version", "Holds", "Last error", "Attempts"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, entries.map(([target, t]) => h("tr", { "data-target": target },
      h("th", { scope: "row" }, target), h("td", { class: "num" }, t.appliedVersion),
      h("td", { class: "mono" }, t.resourceVersion ? `resourceVersion ${t.resourceVersion}` : t.commit ? `commit ${t.commit.slice(0, 12)}` : t.detail || "–"),
      h("td", { class: "error-text" }, t.lastError || "–"), h("td", { class: "num" }, t.attempts || 0))))));
}

export function renderDetail(root, { namespace, name }) {
  const path = itemPath(namespace, name);
  const key = `${namespace}/${name}`;
  const messages = messageBox();
  const parts = Object.fromEntries(["head", "status", "spec", "timeline", "history", "commands"].map((p) => [p, h("div")]));
  const diffOut = h("div", { class: "diff", "aria-live": "polite" });
  const state = { obj: null, history: [], version: null };

  const drawHead = () => {
    const { obj } = state;
    const phase = obj.status.phase;
    const actions = h("div", { class: "actions" }, h("a", { class: "button", href: `${detailHash(namespace, name)}/edit` }, "Edit"));
    if (phase === "Failed" || phase === "Retrying") actions.append(button("Replay sync", replay));
    actions.append(button("Delete", confirmDelete));
    parts.head.replaceChildren(h("div", { class: "title" }, h("h1", {}, key), badge(phase)), actions);
  };
  const drawStatus = () => {
    const st = state.obj.status;
    parts.status.replaceChildren(section("h-status", "Sync status",
      dl([["Phase", badge(st.phase)], ["Desired version", st.desiredVersion], ["Applied version", st.appliedVersion || "–"],
        ["Last error", st.lastError ? h("span", { class: "error-text" }, st.lastError) : "–"], ["Attempts", st.attempts || 0],
        ["Workflow", h("a", { href: st.workflowUrl, target: "_blank", rel: "noopener noreferrer" }, `${st.workflowId} in the Temporal Web UI`)]]),
      targetsTable(st)));
  };
  const drawSpec = () => {
    const { metadata, spec } = state.obj;
    parts.spec.replaceChildren(section("h-spec", "Spec",
      dl([["App", spec.app], ["Environment", spec.environment], ["Replicas", spec.replicas], ["Version", metadata.resourceVersion],
        ["Created", when(metadata.creationTimestamp)]]),
      mapTable("Labels", metadata.labels), mapTable("Data", spec.data), mapTable("Feature flags", spec.featureFlags),
      mapTable("Secret references", Object.fromEntries((spec.secretRefs || []).map((r) => [r.name, r.key])))));
  };
  const drawTimeline = async () => {
    try {
      const { data } = await api("GET", `${path}/timeline`);
      parts.timeline.replaceChildren(section("h-timeline", "Timeline", timelineSvg(data),
        h("p", { class: "legend" }, "Top lane: each committed version. One lane per target: the version it holds, at the time it reported it.")));
    } catch { /* the object may be gone; the message says so */ }
  };
  const drawHistory = async () => {
    const { data } = await api("GET", `${path}/history`);
    state.history = data.items;
    const radio = (group, rv, checked) => h("input", { type: "radio", name: group, value: rv, checked, "aria-label": `${group === "from" ? "Compare from" : "Compare to"} version ${rv}` });
    const rows = data.items.map((r, i) => h("tr", {},
      h("td", {}, radio("from", r.resourceVersion, i === Math.min(1, data.items.length - 1))), h("td", {}, radio("to", r.resourceVersion, i === 0)),
      h("th", { scope: "row", class: "num" }, r.resourceVersion), h("td", {}, r.op), h("td", {}, r.actor), h("td", {}, when(r.time))));
    const form = h("form", { class: "history", "aria-label": "Compare two revisions" },
      h("div", { class: "scroll" }, h("table", {}, h("thead", {}, h("tr", {}, ["From", "To", "Version", "Change", "By", "When"].map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, rows))),
      h("button", { type: "submit" }, "Show diff"));
    form.addEventListener("submit", (event) => { event.preventDefault(); showDiff(form.elements.from.value, form.elements.to.value); });
    parts.history.replaceChildren(section("h-history", "History", form, diffOut));
  };
  const showDiff = (from, to) => {
    const find = (rv) => state.history.find((r) => r.resourceVersion === rv);
    const lines = diffLines(revisionLines(find(from)), revisionLines(find(to)));
    const changed = lines.filter((l) => l.op !== " ").length;
    diffOut.replaceChildren(h("h3", {}, `Version ${from} → ${to}: ${changed} line(s) changed`),
      h("pre", { class: "diff-lines" }, lines.map((l) => h(l.op === "+" ? "ins" : l.op === "-" ? "del" : "span", { class: `line line-${l.op === "+" ? "add" : l.op === "-" ? "del" : "same"}` }, `${l.op} ${l.text}\n`))));
  };
  const refresh = async (obj) => {
    state.obj = obj || (await api("GET", path)).data;
    drawHead();
    drawStatus();
    drawTimeline();
    if (state.version !== state.obj.metadata.resourceVersion) {
      state.version = state.obj.metadata.resourceVersion;
      drawSpec();
      parts.commands.replaceChildren(section("h-commands", "Commands", commands(state.obj)));
      await drawHistory();
    }
  };
  function button(label, onclick) {
    return h("button", { type: "button", onclick }, label);
  }
  async function replay() {
    try {
      const { data } = await api("POST", `${path}/replay`);
      messages.show(`Replay: ${data.action}.`);
    } catch (err) {
      messages.show(err.status === 403 ? `Replay needs the admin role: ${err.message}` : `Replay failed: ${err.message}`, "error");
    }
  }
  function confirmDelete() {
    const yes = button("Delete for good", async () => {
      try {
        const { status } = await api("DELETE", `${path}?wait=synced&timeout=8s`, { kind: "DeleteOptions", preconditions: { resourceVersion: state.version } });
        setFlash(status === 200 ? `Deleted ${key}; its CR and Git file are removed.` : `Deleting ${key}; the compensation is in progress.`);
        location.hash = "#/";
      } catch (err) {
        messages.show(`Could not delete: ${err.message}`, "error");
      }
    });
    messages.show(`Delete ${key}? Its custom resource and Git file are removed too.`, "warn", " ", yes, " ", button("Cancel", () => messages.clear()));
    yes.focus();
  }

  root.append(takeFlash() || "", messages.el, parts.head, h("div", { class: "grid" }, parts.status, parts.spec), parts.timeline, parts.history, parts.commands);
  refresh().catch((err) => messages.show(err.status === 404 ? `${key} does not exist (any more).` : `Could not load ${key}: ${err.message}`, "error"));
  const stream = watch({ namespace }, {
    onReady: () => state.obj && refresh().catch(() => {}),
    onState: () => {},
    onChange: (ev) => {
      if (`${ev.object.metadata.namespace}/${ev.object.metadata.name}` !== key) return;
      if (ev.type === "DELETED") messages.show(`${key} was deleted.`, "warn");
      else refresh(ev.object).catch(() => {});
    },
  });
  return { destroy: () => stream.close() };
}
