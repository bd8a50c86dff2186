// Parley service worker: caches this build's app shell under a versioned name.
// The post-build hook (postbuild.py) replaces the two placeholders below, so
// every build yields a byte-different worker and browsers pick up the update.
const BUILD_ID = "__PARLEY_BUILD_ID__";
const SHELL = [/*__PARLEY_SHELL__*/];
const CACHE = `parley-shell-${BUILD_ID}`;
const PREFIX = "parley-shell-";
// Never served from cache: live API, signed blob URLs, operational endpoints.
const NETWORK_ONLY = /^\/(api|blobs|healthz|readyz|metrics)(\/|$)/;

self.addEventListener("install", (event) => {
  // A fresh install (no previous version) takes over at once; an update waits
  // until the page asks, so one page never mixes two versions.
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "skip-waiting") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || NETWORK_ONLY.test(url.pathname)) return;
  if (request.mode === "navigate") {
    // Every client-side route is the same shell.
    event.respondWith((async () => {
      const cached = await caches.match("/index.html", { cacheName: CACHE });
      return cached || fetch(request);
    })());
    return;
  }
  event.respondWith((async () => {
    const cached = await caches.match(request, { cacheName: CACHE });
    return cached || fetch(request);
  })());
});

// Notifications (ADR 0023). A push from the relay carries nothing but "wake
// up": the worker shows one "New message" notification (the app wrote the
// words, in its language, to the parley-notify cache), replacing the last
// one rather than stacking. A page that is open and visible shows the
// message itself, so then nothing is shown.
const NOTIFY_CACHE = "parley-notify";

async function notifyConfig() {
  try {
    const cached = await caches.match("/notify-config", { cacheName: NOTIFY_CACHE });
    if (cached) return await cached.json();
  } catch (_) {
    // Unreadable: fall back to the defaults below.
  }
  return {};
}

self.addEventListener("push", (event) => {
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    if (windows.some((w) => w.visibilityState === "visible")) return;
    const config = await notifyConfig();
    if (config.mode === "off") return;
    await self.registration.showNotification(config.title || "New message", {
      tag: config.tag || "parley-new-message",
      renotify: true,
      icon: "/icons/icon-192.png",
      data: {},
    });
  })());
});

// A click focuses the app (or opens it) and, when the notification names a
// conversation, asks the page to open it.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const peer = event.notification.data && event.notification.data.peer;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const client = windows.find((w) => w.focused) || windows[0];
    if (client) {
      const focused = await client.focus();
      if (focused && peer) focused.postMessage({ type: "open-chat", peer });
      return;
    }
    // A new window's app is not listening yet: it takes the conversation
    // from the cache when it starts.
    if (peer) {
      const cache = await caches.open(NOTIFY_CACHE);
      await cache.put("/notify-open", new Response(peer));
    }
    await self.clients.openWindow("/");
  })());
});
