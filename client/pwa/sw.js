// Parley service worker: caches this build's app shell under a versioned name.
// The build (client/pwa/shell.py) replaces the two placeholders below, so
// every build yields a byte-different worker and browsers pick up the update.
const BUILD_ID = "__PARLEY_BUILD_ID__";
const SHELL = [/*__PARLEY_SHELL__*/];
const CACHE = `parley-shell-${BUILD_ID}`;
const PREFIX = "parley-shell-";
// Never served from cache: live API, signed blob URLs, operational endpoints.
const NETWORK_ONLY = /^\/(api|blobs|healthz|readyz|metrics)(\/|$)/;

// When a version was installed, kept in its own cache.
const INSTALLED = "/__parley-installed";

self.addEventListener("install", (event) => {
  // A fresh install (no previous version) takes over at once; an update waits
  // until the page asks, so one page never mixes two versions.
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL);
    await cache.put(INSTALLED, new Response(String(Date.now())));
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    // A page still running the version before (another tab) fetches that
    // version's screens when they first open (ADR 0031), which the relay no
    // longer has: the newest earlier version stays, older ones go.
    const earlier = [];
    for (const name of await caches.keys()) {
      if (!name.startsWith(PREFIX) || name === CACHE) continue;
      const stamp = await (await caches.open(name)).match(INSTALLED);
      earlier.push({ name, at: stamp ? Number(await stamp.text()) || 0 : 0 });
    }
    earlier.sort((a, b) => b.at - a.at);
    for (const { name } of earlier.slice(1)) await caches.delete(name);
    await self.clients.claim();
  })());
});

// A file of the version before, for a page still running it: every name
// that differs between versions carries its content hash.
async function fromEarlier(request) {
  for (const name of await caches.keys()) {
    if (!name.startsWith(PREFIX) || name === CACHE) continue;
    const hit = await (await caches.open(name)).match(request);
    if (hit) return hit;
  }
  return undefined;
}

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
    const cached = await caches.match(request, { cacheName: CACHE }) || await fromEarlier(request);
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

// A click opens the conversation the notification names (the app's own
// notifications carry its local id in `data.peer`; a relay push knows none,
// so its click opens the conversation list). With a Parley window open, the
// window is told which conversation and focused; with none, a new one opens
// at `/#/c/<id>`, which the app reads once at start.
async function openFromNotification(data) {
  const peer = data && typeof data.peer === "string" ? data.peer : null;
  const room = data && typeof data.room === "string" && /^[0-9a-f]{32}$/.test(data.room) ? data.room : null;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const client = windows.find((w) => w.focused) || windows.find((w) => w.visibilityState === "visible") || windows[0];
  if (client) {
    // Told first: focusing may be refused, and the conversation should
    // still be the one shown when the person comes back to the window.
    if (peer) client.postMessage({ type: "open-chat", peer });
    if (room) client.postMessage({ type: "open-room", room });
    try {
      await client.focus();
    } catch (_) {
      // Focus needs the click's user activation; without it the window
      // stays where it is, already showing the conversation.
    }
    return;
  }
  const path = peer ? `/#/c/${encodeURIComponent(peer)}` : room ? `/#/r/${room}` : "/";
  await self.clients.openWindow(path);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const done = openFromNotification(event.notification.data).catch(() => {});
  try {
    event.waitUntil(done);
  } catch (_) {
    // An event the page dispatched itself (not trusted) cannot extend its
    // lifetime; the work above runs anyway.
  }
});
