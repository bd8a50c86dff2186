// Accessibility (issue 18): axe-core on every screen of the journey, at
// phone and desktop width and in the dark theme, with no serious or
// critical violation; and the
// journey itself with the keyboard alone: onboard, invite with a PIN, join
// by PIN, chat, open Settings and come back.
//
// axe is injected as a script, which the app's CSP rightly forbids: these
// contexts bypass CSP (the CSP itself is checked by the other tests).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { PHONE, incoming } from './app.mjs';
import { launchBrowser, startRelay, watchPage } from './harness.mjs';

const T = { timeout: 30_000 };
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const DESKTOP = { viewport: { width: 1280, height: 800 } };

/** Serious and critical violations on the page as it is now. */
async function violations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.addScriptTag({ path: AXE });
  }
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

async function checkScreen(page, name) {
  const screen = await page.getAttribute('main', 'data-screen');
  assert.equal(screen, name);
  assert.deepEqual(await violations(page), [], `axe on ${name}`);
}

/** Presses Tab until the focused element's accessible name or label
 * matches `name`; fails after 40 presses. */
async function tabTo(page, name) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      // Only controls count (the body's text holds every label), and
      // elements made focusable on purpose (the editor's region).
      if (!el || !(['BUTTON', 'INPUT', 'TEXTAREA', 'SELECT', 'A'].includes(el.tagName) || el.hasAttribute('tabindex'))) return '';
      const label = el.labels?.[0]?.textContent ?? '';
      return [el.getAttribute('aria-label'), label, el.textContent, el.getAttribute('placeholder')]
        .filter(Boolean).join(' | ');
    });
    if (name instanceof RegExp ? name.test(focused) : focused.includes(name)) return;
  }
  assert.fail(`Tab never reached "${name}"`);
}

/** Waits for a screen, and for the timer in which the app then moves the
 * focus to its heading: tabbing before it fires, the focus could jump to
 * the heading between the last Tab and the Enter (seen once in CI, under
 * load). A zero-delay timer set now fires after the app's, set earlier. */
async function arrive(page, screen) {
  await page.waitForSelector(`main[data-screen="${screen}"]`, T);
  await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
}

async function keyboardOnboard(page, name) {
  await page.waitForSelector('main[data-screen="onboarding"]', T);
  await page.waitForSelector('.relay-status[data-state="ready"]', T);
  await tabTo(page, 'Your name');
  await page.keyboard.type(name);
  await page.keyboard.press('Enter');
  await page.waitForSelector('main[data-screen="home"]', T);
}

describe('accessibility', () => {
  let relay, browser;
  const problems = [];

  before(async () => {
    relay = await startRelay();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
  });

  const DARK_PHONE = { ...PHONE, colorScheme: 'dark' };
  for (const [label, size] of [['phone', PHONE], ['desktop', DESKTOP], ['phone, dark theme', DARK_PHONE]]) {
    test(`every screen passes axe (${label}), reached with the keyboard alone`, async () => {
      const a = await browser.newContext({ ...size, bypassCSP: true });
      const b = await browser.newContext({ ...size, bypassCSP: true });
      const alice = await a.newPage();
      const bob = await b.newPage();
      problems.push(watchPage(alice), watchPage(bob));
      await alice.goto(relay.base + '/');
      await bob.goto(relay.base + '/');
      await alice.waitForSelector('main[data-screen="onboarding"]', T);
      await checkScreen(alice, 'onboarding');
      await keyboardOnboard(alice, 'Alice');
      await keyboardOnboard(bob, 'Bob');
      await checkScreen(alice, 'home');

      // Alice invites with a PIN, Bob joins by typing it.
      await tabTo(alice, 'Invite someone');
      await alice.keyboard.press('Enter');
      await alice.waitForSelector('#invite-link', T);
      await tabTo(alice, 'Show a PIN instead');
      await alice.keyboard.press('Enter');
      await alice.waitForSelector('.pin', T);
      const pin = (await alice.textContent('.pin')).trim();
      await checkScreen(alice, 'invite');
      await tabTo(bob, 'Join an invite');
      await bob.keyboard.press('Enter');
      await bob.waitForSelector('main[data-screen="join"]', T);
      // The new screen has the focus, on its heading.
      await bob.waitForFunction(() => document.activeElement?.matches('main h1'), null, T);
      await checkScreen(bob, 'join');
      await tabTo(bob, 'PIN shown on the other screen');
      await bob.keyboard.type(pin);
      await bob.keyboard.press('Enter');
      await bob.waitForSelector('main[data-screen="chat"]', T);
      await alice.waitForSelector('main[data-screen="chat"]', T);

      // Chat: type and send with Enter.
      await tabTo(bob, 'Message');
      await bob.keyboard.type('Typed without a mouse');
      await bob.keyboard.press('Enter');
      await incoming(alice, 'Typed without a mouse');
      await checkScreen(alice, 'chat');
      await checkScreen(bob, 'chat');
      // The attach sheet, open over the conversation; Escape closes it.
      await bob.locator('input[type="file"]').setInputFiles({ name: 'a.txt', mimeType: 'text/plain', buffer: Buffer.from('a') });
      await bob.getByRole('dialog', { name: 'Send a file' }).waitFor(T);
      await checkScreen(bob, 'chat');
      await bob.keyboard.press('Escape');
      await bob.getByRole('dialog', { name: 'Send a file' }).waitFor({ state: 'hidden', ...T });
      // An image opens the editor: a region blurred with the keyboard alone.
      const png = Buffer.from((await bob.evaluate(() => {
        const c = document.createElement('canvas');
        c.width = 40; c.height = 30;
        const g = c.getContext('2d');
        g.fillStyle = '#000'; g.fillRect(0, 0, 40, 30);
        g.fillStyle = '#fff'; g.fillRect(10, 5, 20, 20);
        return c.toDataURL('image/png');
      })).split(',')[1], 'base64');
      await bob.locator('input[type="file"]').setInputFiles({ name: 'face.png', mimeType: 'image/png', buffer: png });
      const sheet = bob.getByRole('dialog', { name: 'Send a file' });
      await sheet.locator('img.attach-preview').waitFor(T);
      await tabTo(bob, 'Blur');
      await bob.keyboard.press('Enter');
      await tabTo(bob, 'Selected region');
      await checkScreen(bob, 'chat');
      await bob.keyboard.press('ArrowLeft');
      await bob.keyboard.press('Shift+ArrowDown');
      await bob.keyboard.press('Enter');
      await sheet.getByRole('status').filter({ hasText: 'Edit applied' }).waitFor(T);
      await bob.keyboard.press('Escape');
      await sheet.waitFor({ state: 'hidden', ...T });
      // Wide: the list beside the open conversation, which it marks; a
      // phone shows one pane.
      if (size === DESKTOP) {
        const side = await alice.locator('aside.sidebar').boundingBox();
        const main = await alice.locator('main[data-screen="chat"]').boundingBox();
        assert.ok(side && main && side.x + side.width <= main.x + 1, 'two panes side by side');
        await alice.locator('aside.sidebar .conversation[aria-current="page"]', { hasText: 'Bob' }).waitFor(T);
      } else {
        assert.equal(await alice.locator('aside.sidebar').count(), 0, 'one pane');
      }

      // Back home; a message arrives; the conversation opens with the
      // unread divider above it.
      await tabTo(alice, 'Back to conversations');
      await alice.keyboard.press('Enter');
      await alice.waitForSelector('main[data-screen="home"]', T);
      await bob.keyboard.type('While you were away');
      await bob.keyboard.press('Enter');
      await alice.locator('.conversation', { hasText: 'While you were away' }).click();
      await alice.locator('.unread-divider').waitFor(T);
      await checkScreen(alice, 'chat');

      // A room with Bob: New room, then the room and its member list.
      await tabTo(alice, 'Back to conversations');
      await alice.keyboard.press('Enter');
      await arrive(alice, 'home');
      await tabTo(alice, 'New room');
      await alice.keyboard.press('Enter');
      await alice.waitForSelector('main[data-screen="new-room"]', T);
      await checkScreen(alice, 'new-room');
      await tabTo(alice, 'Room name');
      await alice.keyboard.type('Team');
      await tabTo(alice, 'Bob');
      await alice.keyboard.press('Space');
      await tabTo(alice, 'Create room');
      await alice.keyboard.press('Enter');
      await arrive(alice, 'room');
      await tabTo(alice, 'Message');
      await alice.keyboard.type('Hello team');
      await alice.keyboard.press('Enter');
      await alice.locator('.msg.out', { hasText: 'Hello team' }).waitFor(T);
      await tabTo(alice, 'Members');
      await alice.keyboard.press('Enter');
      await alice.locator('#room-members').waitFor(T);
      await checkScreen(alice, 'room');

      // Back home and into Settings.
      await tabTo(alice, 'Back to conversations');
      await alice.keyboard.press('Enter');
      await arrive(alice, 'home');
      await tabTo(alice, 'Settings');
      await alice.keyboard.press('Enter');
      await alice.waitForSelector('main[data-screen="settings"]', T);
      await checkScreen(alice, 'settings');

      // A new device's link screen.
      const c = await browser.newContext({ ...size, bypassCSP: true });
      const phone = await c.newPage();
      problems.push(watchPage(phone));
      await phone.goto(relay.base + '/');
      await phone.waitForSelector('.relay-status[data-state="ready"]', T);
      await tabTo(phone, 'Link to my other device');
      await phone.keyboard.press('Enter');
      await tabTo(phone, 'Show the code');
      await phone.keyboard.press('Enter');
      await phone.waitForSelector('#invite-link', T).catch(async (e) => {
        // Seen only in full CI runs so far: say where the new device stopped.
        const screen = await phone.locator('main').getAttribute('data-screen').catch(() => '?');
        const text = (await phone.locator('main').innerText().catch(() => '')).slice(0, 600);
        console.error(`relay log tail:\n${relay.log().slice(-4000)}`);
        // In the message, which the summary of failures repeats.
        throw new Error(`new device stuck on screen ${screen}: ${text}\nconsole: ${JSON.stringify(problems)}`, { cause: e });
      });
      await checkScreen(phone, 'invite');
      await Promise.all([a.close(), b.close(), c.close()]);
    });
  }

  test('no console errors along the way', () => {
    const unexpected = problems.flat().filter((p) => !/WebSocket connection/.test(p));
    assert.deepEqual(unexpected, []);
  });
});
