// Create and edit: the API's 422 causes stand next to the field they name; a stale edit
// (409) says so and offers the current version; a save waits for the sync (wait=synced).

import { api, ApiError } from "./api.js";
import { detailHash, h, itemPath, messageBox, setFlash } from "./dom.js";

const WAIT = "wait=synced&timeout=8s";
// Which input a cause's field path belongs to (the longest prefix wins).
const FIELDS = [
  ["metadata.namespace", "namespace"], ["namespace", "namespace"], ["metadata.name", "name"],
  ["metadata.labels", "labels"], ["spec.app", "app"], ["spec.environment", "environment"],
  ["spec.replicas", "replicas"], ["spec.data", "data"], ["spec.featureFlags", "featureFlags"],
  ["spec.secretRefs", "secretRefs"],
];

function pairs(text, sep) {
  const out = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf(sep);
    if (at < 1) throw new Error(`"${line}" is not key${sep}value`);
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}

function lines(map, sep) {
  return Object.entries(map || {}).map(([k, v]) => `${k}${sep}${v}`).join("\n");
}

function field(id, label, control, hint) {
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  control.setAttribute("id", id);
  control.setAttribute("name", id);
  control.setAttribute("aria-describedby", `${id}-hint ${id}-error`);
  return h("div", { class: "field", "data-field": id },
    h("label", { for: id }, label), h("p", { class: "hint", id: `${id}-hint` }, hint || ""), control, error);
}

function controls(creating) {
  const env = h("select", {}, ["dev", "staging", "prod"].map((e) => h("option", { value: e }, e)));
  return [
    creating && field("namespace", "Namespace", h("input", { required: true, value: "default" })),
    creating && field("name", "Name", h("input", { required: true, autocomplete: "off" }), "DNS-1123 name"),
    field("app", "App", h("input", { required: true }), "DNS-1123 label"),
    field("environment", "Environment", env),
    field("replicas", "Replicas", h("input", { type: "number", min: 0, max: 50, value: 1 }), "0–50; prod needs at least 2"),
    field("labels", "Labels", h("textarea", { rows: 2 }), "one key=value a line"),
    field("data", "Data", h("textarea", { rows: 3 }), "one key=value a line"),
    field("featureFlags", "Feature flags", h("textarea", { rows: 2 }), "one name=true|false a line"),
    field("secretRefs", "Secret references", h("textarea", { rows: 2 }), "one secret/key a line (references, never values)"),
  ];
}

function setValues(form, obj) {
  const { metadata, spec } = obj;
  form.elements.app.value = spec.app || "";
  form.elements.environment.value = spec.environment || "dev";
  form.elements.replicas.value = spec.replicas ?? 1;
  form.elements.labels.value = lines(metadata.labels, "=");
  form.elements.data.value = lines(spec.data, "=");
  form.elements.featureFlags.value = lines(spec.featureFlags, "=");
  form.elements.secretRefs.value = (spec.secretRefs || []).map((r) => `${r.name}/${r.key}`).join("\n");
}

function body(form, target, version) {
  const local = [];
  const parse = (id, fn) => {
    try {
      return fn(form.elements[id].value);
    } catch (err) {
      local.push({ field: id, message: err.message });
      return undefined;
    }
  };
  const flags = parse("featureFlags", (t) => Object.fromEntries(
    Object.entries(pairs(t, "=")).map(([k, v]) => [k, v === "true" ? true : v === "false" ? false : v])));
  const refs = parse("secretRefs", (t) => Object.entries(pairs(t, "/")).map(([name, key]) => ({ name, key })));
  const replicas = form.elements.replicas.value;
  const spec = {
    app: form.elements.app.value.trim(),
    environment: form.elements.environment.value,
    replicas: replicas === "" ? undefined : Number(replicas),
    data: parse("data", (t) => pairs(t, "=")),
    featureFlags: flags,
    secretRefs: refs,
  };
  const metadata = { name: target.name, labels: parse("labels", (t) => pairs(t, "=")) };
  if (version) metadata.resourceVersion = version;
  return { local, body: { apiVersion: "rendersync.dev/v1alpha1", kind: "AppConfig", metadata, spec } };
}

function showErrors(form, causes, messages) {
  const rest = [];
  for (const cause of causes) {
    const match = FIELDS.filter(([path]) => cause.field === path || cause.field.startsWith(`${path}.`) || cause.field.startsWith(`${path}[`))
      .sort((a, b) => b[0].length - a[0].length)[0];
    const id = match ? match[1] : form.elements[cause.field] ? cause.field : null;
    const box = id && form.querySelector(`#${id}-error`);
    if (!box) { rest.push(`${cause.field}: ${cause.message}`); continue; }
    box.hidden = false;
    box.textContent = box.textContent ? `${box.textContent}; ${cause.message}` : cause.message;
    form.elements[id].setAttribute("aria-invalid", "true");
  }
  if (rest.length) messages.show("The API refused the AppConfig:", "error", h("ul", {}, rest.map((r) => h("li", {}, r))));
  const first = form.querySelector("[aria-invalid=true]");
  if (first) first.focus();
}

function clearErrors(form, messages) {
  messages.clear();
  for (const box of form.querySelectorAll(".field-error")) { box.hidden = true; box.textContent = ""; }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

export function renderForm(root, target, query) {
  const creating = !target;
  const state = { version: null };
  const messages = messageBox();
  const save = h("button", { type: "submit", class: "primary" }, creating ? "Create" : "Save");
  const form = h("form", { class: "edit", novalidate: true }, controls(creating),
    h("div", { class: "actions" }, save, h("a", { class: "button", href: creating ? "#/" : detailHash(target.namespace, target.name) }, "Cancel")));
  const title = creating ? "New AppConfig" : `Edit ${target.namespace}/${target.name}`;
  root.append(h("h1", {}, title), messages.el, form);
  if (creating && query.get("namespace")) form.elements.namespace.value = query.get("namespace");

  const load = async () => {
    const { data } = await api("GET", itemPath(target.namespace, target.name));
    setValues(form, data);
    state.version = data.metadata.resourceVersion;
    return data;
  };
  if (!creating) load().catch((err) => messages.show(`Could not load: ${err.message}`, "error"));

  const stale = (err) => {
    const reload = h("button", { type: "button" }, "Load the current version");
    reload.addEventListener("click", async () => {
      const current = await load();
      messages.show(`Loaded version ${current.metadata.resourceVersion}; your edits were replaced. Edit and save again.`);
    });
    messages.show(`This AppConfig changed since you opened it (you edited version ${state.version}). ${err.message}`, "error", " ", reload);
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form, messages);
    const where = creating ? { namespace: form.elements.namespace.value.trim(), name: form.elements.name.value.trim() } : target;
    const built = body(form, where, state.version);
    if (built.local.length) return showErrors(form, built.local, messages);
    save.disabled = true;
    messages.show("Saving, then waiting for the sync…");
    try {
      const path = creating ? `/api/v1/namespaces/${encodeURIComponent(where.namespace)}/appconfigs` : itemPath(where.namespace, where.name);
      const { status, data } = await api(creating ? "POST" : "PUT", `${path}?${WAIT}`, built.body);
      const version = data.metadata.resourceVersion;
      setFlash(status === 200 ? `Saved version ${version}; synced to every target.`
        : `Saved version ${version}; the sync is still in progress (${data.status.phase}).`);
      location.hash = detailHash(where.namespace, where.name);
    } catch (err) {
      if (!(err instanceof ApiError)) messages.show(`Could not save: ${err.message}`, "error");
      else if (err.status === 409 && !creating) stale(err);
      else if (err.causes.length) showErrors(form, err.causes, messages);
      else messages.show(`Could not save: ${err.message}`, "error");
    } finally {
      save.disabled = false;
    }
  });
  return null;
}
