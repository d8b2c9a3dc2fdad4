// What the phone recorded, kept until the server has answered for each record, then kept with that answer.
// Records carry ids made here, so sending one twice is safe: the server answers "already saved".
import * as api from "./api.js";
import * as idb from "./idb.js";

const BATCH = 500;
const listeners = new Set();
let running = null;

export function onChange(fn) { listeners.add(fn); }
function changed() { for (const fn of listeners) fn(); }

export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export async function sha256(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((x) => x.toString(16).padStart(2, "0")).join("");
}

// kind: "task" | "shift" | "correction"; body: what the endpoint takes; meta: for display (names, report...).
export async function add(kind, body, meta = {}) {
  const owner = api.currentUser().id;
  const rec = { id: body.id, owner, kind, body, meta, state: "pending", problem: null, made_at: Date.now() };
  await idb.put("outbox", rec);
  changed();
  return rec;
}

export async function addPhoto(taskId, file) {
  const owner = api.currentUser().id;
  const rec = {
    id: newId(), owner, task_id: taskId, blob: file, name: file.name || "photo.jpg", type: file.type || "image/jpeg",
    bytes: file.size, sha256: await sha256(file), state: "pending", made_at: Date.now(),
  };
  await idb.put("photos", rec);
  changed();
  return rec;
}

export async function records() {
  const user = api.currentUser();
  if (!user) return [];
  const all = await idb.byIndex("outbox", "owner", user.id);
  return all.sort((a, b) => b.made_at - a.made_at);
}

export async function photosOf(taskId) {
  return idb.byIndex("photos", "task", taskId);
}

export async function pendingCount() {
  const recs = await records();
  let n = recs.filter((r) => r.state === "pending").length;
  for (const r of recs) n += (await photosOf(r.id)).filter((p) => p.state === "pending").length;
  return n;
}

function transient(err) {
  return err instanceof api.Offline || (err instanceof api.Problem && (err.status >= 500 || err.status === 429));
}

function problemOf(p) {
  return { code: p.code, article: p.article || null, detail: p.detail || p.title || p.code, status: p.status };
}

async function settle(rec, result, problem, record) {
  rec.state = result === "created" ? "saved" : result === "duplicate" ? "duplicate" : "refused";
  rec.problem = problem ? problemOf(problem) : null;
  rec.server = record ? { status: record.status, mode: record.mode, in_zone: record.in_zone } : null;
  rec.settled_at = Date.now();
  await idb.put("outbox", rec);
}

async function sendBatch(recs) {
  const tasks = recs.filter((r) => r.kind === "task");
  const shifts = recs.filter((r) => r.kind === "shift");
  for (let i = 0; i < Math.max(tasks.length, shifts.length); i += BATCH) {
    const t = tasks.slice(i, i + BATCH);
    const s = shifts.slice(i, i + BATCH);
    const answer = await api.call("/api/sync", {
      method: "POST",
      json: { tasks: t.map((r) => r.body), shifts: s.map((r) => ({ kind: r.meta.shift_kind, ...r.body })) },
    });
    for (const item of answer.tasks) await settle(t[item.index], item.result, item.problem, item.record);
    for (const item of answer.shifts) await settle(s[item.index], item.result, item.problem, item.record);
    changed();
  }
}

async function sendCorrection(rec) {
  try {
    const record = await api.call(`/api/tasks/${rec.meta.corrects}/corrections`, { method: "POST", json: rec.body });
    // 201 is new, 200 the same record again: both are saved; the list from the server tells them apart.
    await settle(rec, "created", null, record);
  } catch (err) {
    if (transient(err) || err instanceof api.LoggedOut) throw err;
    await settle(rec, "error", { ...err.body, code: err.code, article: err.article, status: err.status }, null);
  }
  changed();
}

async function sendPhoto(photo, task) {
  if (task && task.state === "refused") {
    if (photo.state !== "kept") { photo.state = "kept"; await idb.put("photos", photo); changed(); }
    return;
  }
  if (!task || task.state === "pending") return;
  const form = new FormData();
  form.append("file", photo.blob, photo.name);
  try {
    const ev = await api.call(`/api/tasks/${photo.task_id}/evidence`, { method: "POST", form });
    photo.server_sha256 = ev.sha256;
    photo.evidence_id = ev.id;
    photo.state = ev.sha256 === photo.sha256 ? "uploaded" : "mismatch";
  } catch (err) {
    if (transient(err) || err instanceof api.LoggedOut) throw err;
    photo.state = "refused";
    photo.problem = { code: err.code, article: err.article, detail: err.message, status: err.status };
  }
  await idb.put("photos", photo);
  changed();
}

async function runSync() {
  const recs = await records();
  const pending = recs.filter((r) => r.state === "pending");
  // Shift events and new tasks first (the server orders shift events by their time), then corrections,
  // whose earlier version must already be on the server, then the photos of records the server holds.
  await sendBatch(pending.filter((r) => r.kind !== "correction"));
  for (const rec of pending.filter((r) => r.kind === "correction").sort((a, b) => a.made_at - b.made_at)) {
    await sendCorrection(rec);
  }
  const byId = new Map((await records()).map((r) => [r.id, r]));
  for (const rec of byId.values()) {
    for (const photo of await photosOf(rec.id)) {
      if (photo.state === "pending" || photo.state === "kept") await sendPhoto(photo, byId.get(photo.task_id));
    }
  }
  await idb.put("kv", Date.now(), `synced:${api.currentUser().id}`);
}

// Send everything pending; one run at a time in this tab and across tabs (navigator.locks).
export function sync() {
  if (!api.currentUser()) return Promise.resolve("logged_out");
  if (!running) {
    const job = async () => {
      try { await runSync(); return "done"; }
      catch (err) {
        if (err instanceof api.LoggedOut) return "logged_out";
        if (transient(err)) return "offline";
        throw err;
      }
    };
    const locked = navigator.locks ? navigator.locks.request("auxduty-sync", job) : job();
    running = locked.finally(() => { running = null; changed(); });
  }
  return running;
}

export async function lastSync() {
  const user = api.currentUser();
  return user ? idb.get("kv", `synced:${user.id}`) : null;
}
