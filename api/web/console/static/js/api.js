// The API's own endpoints, with the token kept in sessionStorage and sent as Bearer.

const TOKEN_KEY = "rendersync.token";

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || "",
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }

  get causes() {
    return (this.body.details && this.body.details.causes) || [];
  }
}

function headers(extra) {
  const all = { Accept: "application/json", ...extra };
  const bearer = token.get();
  if (bearer) all.Authorization = `Bearer ${bearer}`;
  return all;
}

export async function api(method, path, body) {
  const init = { method, headers: headers({}) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return { status: response.status, data };
}

function parseEvent(block) {
  let type = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) type = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  return data.length ? { type, data: JSON.parse(data.join("\n")) } : null;
}

async function readStream(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const found = parseEvent(buffer.slice(0, cut));
      buffer = buffer.slice(cut + 2);
      if (found) onEvent(found);
    }
  }
}

// Server-sent events of AppConfig changes. onReady() runs once the stream is open (and again
// after every reconnect): the caller lists then, so it misses nothing. onState(text) says
// whether updates are live.
export function watch(params, { onChange, onReady, onState }) {
  const controller = new AbortController();
  let delay = 500;
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch(`/api/v1/watch/appconfigs?${query}`, {
          headers: headers({ Accept: "text/event-stream" }),
          signal: controller.signal,
        });
        if (!response.ok) throw new ApiError(response.status, null);
        await readStream(response, (ev) => {
          if (ev.type === "ready") {
            delay = 500;
            onState("Live");
            onReady();
          } else if (ev.type === "message") onChange(ev.data);
        });
      } catch (err) {
        if (controller.signal.aborted) return;
        if (err instanceof ApiError && err.status === 401) {
          onState("Not live: the token was refused");
          return;
        }
      }
      onState("Reconnecting…");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10000);
    }
  };
  run();
  return { close: () => controller.abort() };
}
