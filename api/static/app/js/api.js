// Talking to the server: the session (access and refresh tokens), one refresh at a time (a refresh token is
// single-use: two tabs or two calls refreshing at once would look like a stolen phone and end the session),
// and problem+json answers turned into errors that carry the article.
import * as idb from "./idb.js";

export class Problem extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || "http_" + status;
    this.article = (body && body.article) || null;
    this.body = body || {};
  }
}

// Thrown when the server cannot be reached: the caller keeps the record and tries again later.
export class Offline extends Error {}

// Thrown when the session is over (refresh token reused, revoked or expired): log in again.
export class LoggedOut extends Error {}

let session = null;
let refreshing = null;

export async function loadSession() {
  session = (await idb.get("kv", "session")) || null;
  return session;
}

export function currentUser() {
  return session ? session.user : null;
}

async function saveTokens(pair) {
  session = {
    ...(session || {}),
    access: pair.access_token,
    refresh: pair.refresh_token,
    expires_at: Date.now() + (pair.expires_in - 30) * 1000,
  };
  await idb.put("kv", session, "session");
}

async function raw(path, init = {}) {
  try {
    return await fetch(path, { ...init, headers: { Accept: "application/json", ...(init.headers || {}) } });
  } catch (err) {
    throw new Offline(String(err));
  }
}

async function body(resp) {
  const type = resp.headers.get("Content-Type") || "";
  return type.includes("json") ? resp.json().catch(() => null) : null;
}

export async function login(username, password) {
  const form = new URLSearchParams({ username, password });
  const resp = await raw("/api/auth/token", { method: "POST", body: form });
  if (!resp.ok) throw new Problem(resp.status, await body(resp));
  session = null;
  await saveTokens(await resp.json());
  await idb.del("kv", "session_ended");
  session.user = await call("/api/me");
  await idb.put("kv", session, "session");
  return session.user;
}

async function doRefresh() {
  const token = session && session.refresh;
  if (!token) throw new LoggedOut("no session");
  const resp = await raw("/api/auth/refresh", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: token }),
  });
  if (resp.status === 401 || resp.status === 403) {
    await endSession();
    await idb.put("kv", (await body(resp) || {}).code || "refresh_refused", "session_ended");
    throw new LoggedOut((await body(resp) || {}).code || "refresh_refused");
  }
  if (!resp.ok) throw new Offline(`refresh answered ${resp.status}`);
  await saveTokens(await resp.json());
}

async function refreshOnce() {
  if (!refreshing) {
    const run = async () => {
      // Another tab may have refreshed already: take its tokens instead of spending ours twice.
      const stored = await idb.get("kv", "session");
      if (stored && session && stored.refresh !== session.refresh) { session = stored; return; }
      await doRefresh();
    };
    const locked = navigator.locks ? navigator.locks.request("auxduty-refresh", run) : run();
    refreshing = locked.finally(() => { refreshing = null; });
  }
  return refreshing;
}

// Why the last session ended without a logout (the server refused its refresh token), if it did.
export async function endedBy() {
  return idb.get("kv", "session_ended");
}

export async function endSession() {
  session = null;
  await idb.del("kv", "session");
}

// One call to the API with the session's token; a 401 refreshes once and tries again.
export async function call(path, { method = "GET", json, form, headers = {} } = {}) {
  if (!session) throw new LoggedOut("no session");
  if (session.expires_at && Date.now() > session.expires_at) await refreshOnce();
  const send = () => {
    const init = { method, headers: { ...headers, Authorization: `Bearer ${session.access}` } };
    if (json !== undefined) { init.body = JSON.stringify(json); init.headers["Content-Type"] = "application/json"; }
    if (form !== undefined) init.body = form;
    return raw(path, init);
  };
  let resp = await send();
  if (resp.status === 401) {
    await refreshOnce();
    resp = await send();
  }
  if (resp.status === 204) return null;
  const data = await body(resp);
  if (!resp.ok) throw new Problem(resp.status, data);
  return data === null ? resp : data;
}

// The bytes of a protected file (an evidence photo) as an object URL.
export async function blobUrl(path) {
  if (!session) throw new LoggedOut("no session");
  let resp = await raw(path, { headers: { Authorization: `Bearer ${session.access}`, Accept: "*/*" } });
  if (resp.status === 401) {
    await refreshOnce();
    resp = await raw(path, { headers: { Authorization: `Bearer ${session.access}`, Accept: "*/*" } });
  }
  if (!resp.ok) throw new Problem(resp.status, await body(resp));
  return URL.createObjectURL(await resp.blob());
}
