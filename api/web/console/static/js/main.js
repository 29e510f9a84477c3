// The router: #/ (list), #/new, #/appconfigs/NS/NAME and #/appconfigs/NS/NAME/edit.

import { api, token } from "./api.js";
import { renderDetail } from "./detail.js";
import { renderForm } from "./form.js";
import { renderList } from "./list.js";

const main = document.getElementById("main");
let page = null;

function parse(hash) {
  const [path, search] = (hash.replace(/^#/, "") || "/").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { parts, query: new URLSearchParams(search || "") };
}

function route() {
  if (page && page.destroy) page.destroy();
  main.replaceChildren();
  const { parts, query } = parse(location.hash);
  if (parts[0] === "new") page = renderForm(main, null, query);
  else if (parts[0] === "appconfigs" && parts.length === 4 && parts[3] === "edit") {
    page = renderForm(main, { namespace: parts[1], name: parts[2] }, query);
  } else if (parts[0] === "appconfigs" && parts.length === 3) {
    page = renderDetail(main, { namespace: parts[1], name: parts[2] });
  } else page = renderList(main, query);
  const heading = main.querySelector("h1");
  if (heading) heading.setAttribute("tabindex", "-1");
  if (document.activeElement !== document.getElementById("token")) (heading || main).focus();
}

async function whoami() {
  const who = document.getElementById("who");
  if (!token.get()) {
    who.textContent = "No token: paste one (rendersync tokens create).";
    return;
  }
  try {
    const { data } = await api("GET", "/api/v1/whoami");
    who.textContent = `Signed in as ${data.status.userInfo.username}`;
  } catch (err) {
    who.textContent = err.status === 401 ? "The API refused this token." : `whoami: ${err.message}`;
  }
}

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = document.getElementById("token");
  if (input.value.trim()) token.set(input.value.trim());
  input.value = "";
  whoami().then(route);
});

document.getElementById("forget").addEventListener("click", () => {
  token.clear();
  whoami().then(route);
});

window.addEventListener("hashchange", route);
whoami();
route();
