// Lazily loaded modules (ADR 0031): the first load carries the app without
// its rarely used screens, each screen's module arrives the first time it
// opens, and a module that cannot be fetched is a message with a retry on
// that screen while the rest of the app keeps working.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backHome, onboard, pairByLink, PHONE } from './app.mjs';
import { launchBrowser, startRelay, watchPage } from './harness.mjs';

const T = { timeout: 20_000 };
const MODULES = ['onboarding', 'account', 'restore', 'settings', 'pairing', 'new_room', 'conversation', 'attach',
  'safety', 'members', 'call'];

/** The split modules a page fetched, by name (`…-split_settings.wasm` → settings), or their bundles
 * (`…-bundle_onboarding.bin` → onboarding). */
function splitModules(urls) {
  return new Set(urls.map((u) => /-(?:split_([a-z_]+)\.wasm|bundle_([a-z_]+)\.bin)$/.exec(u)).filter(Boolean)
    .map((m) => m[1] ?? m[2]));
}

describe('lazily loaded modules', () => {
  let relay, browser;

  before(async () => {
    relay = await startRelay();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
  });

  test('a screen\'s module is fetched when the screen first opens, not before', async () => {
    // No service worker: it would precache every module after the start.
    const context = await browser.newContext({ ...PHONE, serviceWorkers: 'block' });
    const page = await context.newPage();
    const problems = watchPage(page);
    const fetched = [];
    page.on('request', (r) => fetched.push(r.url()));
    await page.goto(relay.base + '/');
    await onboard(page, 'Ada', null, false);
    assert.deepEqual([...splitModules(fetched)].sort(), ['account', 'onboarding'],
      'a new visitor fetches the onboarding module, the account module its form submits with, and no other');
    // Onboarding's module and chunks come as one file (client/pwa/bundle.py), not one by one.
    assert.ok(fetched.some((u) => /-bundle_onboarding\.bin$/.test(u)), 'onboarding came as its bundle');
    assert.ok(!fetched.some((u) => /-split_onboarding\.wasm$/.test(u)), 'not as its own file');
    const before = fetched.length;

    await page.getByRole('button', { name: 'Settings' }).click();
    await page.waitForSelector('main[data-screen="settings"] h1', T);
    assert.ok(splitModules(fetched.slice(before)).has('settings'), 'Settings came with its module');
    // The loaded screen has the focus on its heading, as every screen does.
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
    await backHome(page);
    for (const m of MODULES.filter((m) => !['onboarding', 'account', 'settings'].includes(m))) {
      assert.ok(!splitModules(fetched).has(m), `${m} not fetched`);
    }
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('the conversation screen\'s module arrives with the first conversation', async () => {
    // Two people pair; each one's first conversation (a chat) is what
    // fetches the conversation module, which nothing before it did.
    const users = [];
    for (const name of ['Cy', 'Di']) {
      const context = await browser.newContext({ ...PHONE, serviceWorkers: 'block' });
      const page = await context.newPage();
      const fetched = [];
      page.on('request', (r) => fetched.push(r.url()));
      const problems = watchPage(page);
      await page.goto(relay.base + '/');
      await onboard(page, name, null, false);
      users.push({ context, page, name, fetched, problems });
    }
    for (const u of users) {
      assert.ok(!splitModules(u.fetched).has('conversation'), `${u.name}: no conversation module before a conversation`);
    }
    await pairByLink(users[0], users[1]);
    for (const u of users) {
      assert.ok(splitModules(u.fetched).has('conversation'), `${u.name}: the chat came with its module`);
      // The chat is built from that module: its input is there and works.
      await u.page.getByLabel('Message', { exact: true }).fill('hello');
      assert.deepEqual(u.problems, []);
      await u.context.close();
    }
  });

  test('a module that cannot be fetched is an error with a retry, and the app lives on', async () => {
    const context = await browser.newContext({ ...PHONE, serviceWorkers: 'block' });
    const page = await context.newPage();
    await page.goto(relay.base + '/');
    await onboard(page, 'Ben', null, false);

    // The relay is unreachable for Settings' module (offline before the
    // service worker cached it).
    const block = (route) => route.abort('internetdisconnected');
    await context.route(/-split_settings\.wasm$/, block);
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.waitForSelector('main[data-screen="unavailable"]', T);
    assert.match(await page.getByRole('alert').first().textContent(), /could not be fetched/);
    // The app was not aborted: going back works, and so does the retry.
    await backHome(page);
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.waitForSelector('main[data-screen="unavailable"]', T);

    await context.unroute(/-split_settings\.wasm$/, block);
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.waitForSelector('main[data-screen="settings"] h1', T);
    await backHome(page);
    assert.equal(await page.locator('main[data-screen="home"]').count(), 1);
    await context.close();
  });
});
