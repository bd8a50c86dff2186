// Notifications in a real browser (ADR 0023): a push delivered to the
// service worker through the Chrome DevTools Protocol shows one replacing
// "New message" notification when no Parley page is visible, and none when
// one is; Settings → Notifications registers the subscription with the
// relay; with the page hidden, an incoming message notifies with the
// sender's name and a preview, and the app badge and title show the count;
// clicking it opens the conversation; a room message does the same for its
// room.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backHome, newUser, pairByLink, PHONE, send } from './app.mjs';
import { launchBrowser, startRelay, watchPage } from './harness.mjs';

const T = { timeout: 20_000 };

/** The notifications the app's service worker is showing. */
function shown(page) {
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    return (await reg.getNotifications()).map((n) => ({
      title: n.title, body: n.body, tag: n.tag, peer: n.data?.peer, ...(n.data?.room ? { room: n.data.room } : {}),
    }));
  });
}

async function waitShown(page, count) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const list = await shown(page);
    if (list.length >= count || Date.now() > deadline) return list;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('notifications', () => {
  let relay, browser;

  before(async () => {
    relay = await startRelay();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
  });

  test('a push shows one replacing "New message" notification, and none over a visible page', async () => {
    const context = await browser.newContext(PHONE);
    await context.grantPermissions(['notifications'], { origin: relay.base });
    const page = await context.newPage();
    const problems = watchPage(page);
    await page.goto(relay.base + '/');
    await page.waitForSelector('main[data-screen="onboarding"] h1', T);
    await page.evaluate(() => navigator.serviceWorker.ready);

    const cdp = await context.newCDPSession(page);
    const registrationId = new Promise((resolve) => {
      cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
        const r = registrations.find((x) => x.scopeURL === relay.base + '/' && !x.isDeleted);
        if (r) resolve(r.registrationId);
      });
    });
    await cdp.send('ServiceWorker.enable');
    const id = await registrationId;
    const push = () => cdp.send('ServiceWorker.deliverPushMessage', {
      origin: relay.base, registrationId: id, data: '{"wake":1}',
    });

    // The app closed: two pushes, one notification (the second replaces it).
    await page.goto('about:blank');
    await push();
    await push();
    const reader = await context.newPage();
    await reader.goto(relay.base + '/');
    const list = await waitShown(reader, 1);
    assert.deepEqual(list, [{ title: 'New message', body: '', tag: 'parley-new-message', peer: undefined }]);

    // A visible Parley page shows messages itself: no notification.
    await reader.evaluate(async () => {
      for (const n of await (await navigator.serviceWorker.ready).getNotifications()) n.close();
    });
    await push();
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await shown(reader), []);
    assert.deepEqual(problems, [], problems.join('\n'));
    await context.close();
  });

  test('with the page hidden, a new message notifies with name and preview and sets the badge; clicking it opens the conversation', async () => {
    const alice = await newUser(browser, relay.base, 'Alice');
    const bob = await newUser(browser, relay.base, 'Bob');
    await pairByLink(alice, bob);
    await bob.context.grantPermissions(['notifications'], { origin: relay.base });
    // Headless Chromium has no vendor push service to subscribe with, so
    // the browser's subscribe() answers with a subscription of keys made
    // here; the relay's checks and storage are the real ones.
    await bob.page.evaluate(() => {
      PushManager.prototype.subscribe = async function () {
        const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits']);
        const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
        const b64 = (a) => btoa(String.fromCharCode(...a)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
        const keys = { p256dh: b64(raw), auth: b64(crypto.getRandomValues(new Uint8Array(16))) };
        return { toJSON: () => ({ endpoint: 'https://push.example.com/parley-e2e', keys }) };
      };
      window.__badges = [];
      Navigator.prototype.setAppBadge = async (n) => { window.__badges.push(n); };
      Navigator.prototype.clearAppBadge = async () => { window.__badges.push(0); };
    });
    const problems = watchPage(bob.page);

    await backHome(bob.page);
    await bob.page.getByRole('button', { name: 'Settings' }).click();
    const card = bob.page.locator('[data-card="notifications"]');
    await card.getByLabel('On, with the sender’s name and a preview').check();
    await bob.page.waitForSelector('[data-card="notifications"][data-mode="previews"]', T);
    assert.equal(await card.locator('.error').count(), 0);
    await backHome(bob.page);

    // Bob's page goes to the background.
    await bob.page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { get: () => 'hidden', configurable: true });
      Object.defineProperty(document, 'hidden', { get: () => true, configurable: true });
    });
    await send(alice.page, 'Dinner at eight?');
    const [shownToBob] = await waitShown(bob.page, 1);
    assert.deepEqual(
      { ...shownToBob, peer: undefined },
      { title: 'Alice', body: 'Dinner at eight?', tag: 'parley-new-message', peer: undefined },
    );
    await bob.page.waitForFunction(() => document.title === '(1) Parley', null, T);
    assert.equal(await bob.page.evaluate(() => window.__badges.at(-1)), 1);

    // Clicking it opens the conversation: Bob's page is on another screen
    // (Settings) and hidden; the click reaches the service worker, which
    // tells the page. Headless Chromium cannot click a system notification,
    // so the worker is given the same event a click would give it.
    await bob.page.getByRole('button', { name: 'Settings' }).click();
    await bob.page.waitForSelector('main[data-screen="settings"]', T);
    const worker = bob.context.serviceWorkers().find((w) => w.url().endsWith('/sw.js'))
      ?? await bob.context.waitForEvent('serviceworker', T);
    await worker.evaluate(async () => {
      const [notification] = await self.registration.getNotifications();
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification }));
    });
    await bob.page.waitForSelector('main[data-screen="chat"]', T);
    await bob.page.waitForFunction(() => document.querySelector('.peer-name')?.textContent === 'Alice', null, T);
    assert.deepEqual(await shown(bob.page), [], 'the clicked notification is closed');
    await backHome(bob.page);

    // A room message notifies too (the room's name, "Alice: text"), counts
    // in the badge, and its click opens the room.
    await backHome(alice.page);
    await alice.page.getByRole('button', { name: 'New room' }).click();
    await alice.page.getByLabel('Room name').fill('Dinner club');
    await alice.page.getByLabel('Bob', { exact: true }).check();
    await alice.page.getByRole('button', { name: 'Create room' }).click();
    await alice.page.waitForSelector('main[data-screen="room"]', T);
    await send(alice.page, 'Table for two');
    const [roomNote] = await waitShown(bob.page, 1);
    assert.equal(roomNote.tag, 'parley-room-message');
    assert.equal(roomNote.title, 'Dinner club');
    assert.equal(roomNote.body, 'Alice: Table for two');
    assert.match(roomNote.room, /^[0-9a-f]{32}$/);
    // Alice's message is still unread too (the page was hidden): 1 + 1.
    await bob.page.waitForFunction(() => window.__badges.at(-1) === 2, null, T);
    await bob.page.getByRole('button', { name: 'Settings' }).click();
    await bob.page.waitForSelector('main[data-screen="settings"]', T);
    await worker.evaluate(async () => {
      const [notification] = await self.registration.getNotifications();
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification }));
    });
    await bob.page.waitForSelector('main[data-screen="room"]', T);
    await bob.page.waitForFunction(() => document.querySelector('.peer-name')?.textContent === 'Dinner club', null, T);
    await backHome(bob.page);

    // With no Parley window open the worker opens one at /#/c/<id>: that
    // app starts in Alice's conversation, and the address bar is cleaned.
    await bob.page.goto('about:blank');
    await bob.page.goto(`${relay.base}/#/c/${encodeURIComponent(shownToBob.peer)}`);
    await bob.page.waitForSelector('main[data-screen="chat"]', T);
    await bob.page.waitForFunction(() => document.querySelector('.peer-name')?.textContent === 'Alice', null, T);
    assert.equal(new URL(bob.page.url()).hash, '');
    await backHome(bob.page);

    // Turning notifications off unsubscribes at the relay too.
    await bob.page.getByRole('button', { name: 'Settings' }).click();
    await card.getByLabel('Off').check();
    await bob.page.waitForSelector('[data-card="notifications"][data-mode="off"]', T);
    assert.equal(await card.locator('.error').count(), 0);
    // After the reload the app renews its subscription with the browser's
    // own subscribe(), which this headless profile refuses (and says so).
    const unexpected = problems.filter((p) => !/does not support the Push API in incognito/.test(p));
    assert.deepEqual(unexpected, [], unexpected.join('\n'));
  });
});
