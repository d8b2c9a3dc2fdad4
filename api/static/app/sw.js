// The service worker: keeps the app's own files so it opens with no network, and shows Web Push
// notifications. It never caches the API: the app keeps its data in IndexedDB and says what is stale.
const VERSION = "__VERSION__";
const ASSETS = __ASSETS__;
const CACHE = `auxduty-app-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key.startsWith("auxduty-app-") && key !== CACHE) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith("/app/")) return;
  // The app's files from the cache (they change together, with VERSION); the shell for any /app/ page.
  const key = url.pathname === "/app/" || url.pathname === "/app/index.html" ? "/app/" : url.pathname;
  event.respondWith(caches.open(CACHE).then(async (c) => (await c.match(key)) || fetch(event.request)));
});

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = {}; }
  const title = data.pending ? `${data.pending} 条记录待您会签` : "有记录待您会签";
  const body = [data.auxiliary_name, data.category_name].filter(Boolean).join(" · ") || "打开应用查看";
  event.waitUntil((async () => {
    await self.registration.showNotification(title, { body, tag: "cosign", renotify: true, data, icon: "/app/icons/icon-192.png" });
    if (self.navigator.setAppBadge && data.pending) await self.navigator.setAppBadge(data.pending).catch(() => {});
    for (const client of await self.clients.matchAll({ type: "window" })) client.postMessage(data);
  })());
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const all = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = all.find((c) => new URL(c.url).pathname.startsWith("/app/"));
    if (open) { await open.focus(); open.navigate("/app/#/queue"); } else await self.clients.openWindow("/app/#/queue");
  })());
});
