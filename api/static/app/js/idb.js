// The phone's own storage: IndexedDB, wrapped in promises. Everything recorded lives here until the server has
// answered for it, and after: nothing is deleted by the app except a session on logout.
const NAME = "auxduty";
const VERSION = 1;
let opening = null;

function req(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const r = indexedDB.open(NAME, VERSION);
      r.onupgradeneeded = () => {
        const db = r.result;
        db.createObjectStore("kv");
        // Records made on the phone: tasks, shift events, corrections, with what the server said of each.
        db.createObjectStore("outbox", { keyPath: "id" }).createIndex("owner", "owner");
        // Evidence photos, kept as Blobs with their SHA-256 until the server holds the same bytes.
        db.createObjectStore("photos", { keyPath: "id" }).createIndex("task", "task_id");
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
      r.onblocked = () => reject(new Error("storage blocked by another tab"));
    });
  }
  return opening;
}

async function store(name, mode) {
  return (await open()).transaction(name, mode).objectStore(name);
}

export async function get(name, key) {
  return req((await store(name, "readonly")).get(key));
}

export async function put(name, value, key) {
  const s = await store(name, "readwrite");
  await req(key === undefined ? s.put(value) : s.put(value, key));
  // Resolve once the transaction is durable, not merely queued.
  await new Promise((resolve, reject) => {
    s.transaction.oncomplete = resolve;
    s.transaction.onerror = () => reject(s.transaction.error);
    s.transaction.onabort = () => reject(s.transaction.error || new Error("aborted"));
  });
  return value;
}

export async function del(name, key) {
  return req((await store(name, "readwrite")).delete(key));
}

export async function byIndex(name, index, value) {
  return req((await store(name, "readonly")).index(index).getAll(value));
}
