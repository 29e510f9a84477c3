// Small DOM helpers: elements are built from data, never from HTML strings.

const SVG_NS = "http://www.w3.org/2000/svg";

function fill(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.setAttribute("class", value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

export const PHASES = ["Synced", "Syncing", "Retrying", "Failed", "Deleting", "Pending"];

export function badge(phase) {
  const name = phase || "Pending";
  return h("span", { class: `badge badge-${name.toLowerCase()}`, "data-phase": name }, name);
}

export function keyOf(obj) {
  return `${obj.metadata.namespace}/${obj.metadata.name}`;
}

export function itemPath(namespace, name) {
  const ns = encodeURIComponent(namespace);
  return `/api/v1/namespaces/${ns}/appconfigs/${encodeURIComponent(name)}`;
}

export function detailHash(namespace, name) {
  return `#/appconfigs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

let flashed = null;

// A message for the next page (after a save, a delete).
export function setFlash(text, kind = "ok") {
  flashed = { text, kind };
}

export function takeFlash() {
  const found = flashed;
  flashed = null;
  return found ? h("p", { class: `flash flash-${found.kind}`, role: "status" }, found.text) : null;
}

export function messageBox() {
  const box = h("div", { class: "messages", role: "status", "aria-live": "polite" });
  return {
    el: box,
    show(text, kind = "ok", ...extra) {
      box.replaceChildren(h("p", { class: `flash flash-${kind}` }, text, ...extra));
    },
    clear() {
      box.replaceChildren();
    },
  };
}

export function when(text) {
  if (!text) return "";
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date.toLocaleString();
}
