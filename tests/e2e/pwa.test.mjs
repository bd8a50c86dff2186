// The PWA shell in a real browser: boots the WASM app under the strict CSP,
// is installable (manifest + icons), registers its service worker, works
// offline from the versioned shell cache, and updates cleanly.
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { onboard } from './app.mjs';
import { DIST, launchBrowser, startRelay, tempDir, watchPage } from './harness.mjs';

describe('PWA shell', () => {
  let relay, browser, dist;

  before(async () => {
    // A private copy of the build, so the update test can publish a "new version".
    dist = path.join(tempDir('dist-'), 'dist');
    cpSync(DIST, dist, { recursive: true });
    relay = await startRelay({ staticDir: dist });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
  });

  test('boots the WASM start screen with no CSP violation and no inline script', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchPage(page);
    const response = await page.goto(relay.base + '/');
    const csp = response.headers()['content-security-policy'];
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/);
    assert.doesNotMatch(csp, /unsafe-inline/);

    // The heading exists only once Rust/WASM has rendered the app.
    await page.waitForSelector('main[data-screen="onboarding"] h1', { timeout: 20_000 });
    assert.equal(await page.textContent('main[data-screen="onboarding"] h1'), 'Parley');
    // The app asked the relay's /readyz and shows it ready.
    await page.waitForSelector('.relay-status[data-state="ready"]', { timeout: 20_000 });
    assert.match(await page.textContent('.relay-status'), /Relay online/);

    const inline = await page.evaluate(() => document.querySelectorAll('script:not([src])').length);
    assert.equal(inline, 0, 'no inline <script> in the served page');
    assert.equal(await page.locator('#unsupported').count(), 0, 'Chromium has WebAssembly SIMD');
    assert.deepEqual(problems, [], `console errors: ${problems.join('\n')}`);
    await context.close();
  });

  test('a browser without WebAssembly SIMD is told why instead of getting an empty page', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // What an engine without SIMD does (ADR 0029): the feature test fails and
    // the app's module does not compile.
    await page.addInitScript(() => {
      WebAssembly.validate = () => false;
      const refuse = () => Promise.reject(new WebAssembly.CompileError('SIMD is not supported'));
      WebAssembly.instantiateStreaming = refuse;
      WebAssembly.instantiate = refuse;
      WebAssembly.compileStreaming = refuse;
      WebAssembly.compile = refuse;
    });
    await page.goto(relay.base + '/');
    const notice = page.locator('#unsupported');
    await notice.waitFor({ timeout: 20_000 });
    assert.match(await notice.locator('p[lang="en"]').textContent(), /needs a newer browser.*Safari 16\.4/);
    assert.match(await notice.locator('p[lang="ru"]').textContent(), /нужен браузер новее/);
    assert.equal(await page.locator('main[data-screen]').count(), 0, 'the app did not start');
    await context.close();

    // WebAssembly switched off altogether (a lockdown mode) is named as such.
    const off = await browser.newContext();
    const offPage = await off.newPage();
    await offPage.addInitScript(() => { delete globalThis.WebAssembly; });
    await offPage.goto(relay.base + '/');
    await offPage.locator('#unsupported').waitFor({ timeout: 20_000 });
    assert.match(await offPage.locator('#unsupported p[lang="en"]').textContent(), /needs WebAssembly, which is turned off/);
    await off.close();
  });

  test('a page over plain HTTP to a server\'s address is told to use HTTPS, and the app does not start', async () => {
    // The relay's address under a name: not localhost, so not a secure context.
    const port = new URL(relay.base).port;
    const remote = await launchBrowser(['--host-resolver-rules=MAP parley.test 127.0.0.1']);
    try {
      const page = await (await remote.newContext()).newPage();
      const problems = watchPage(page);
      await page.goto(`http://parley.test:${port}/`);
      assert.equal(await page.evaluate(() => window.isSecureContext), false);
      const notice = page.locator('#unsupported');
      await notice.waitFor({ timeout: 20_000 });
      assert.match(await notice.locator('p[lang="en"]').textContent(), /needs a secure connection: open it over HTTPS/);
      assert.match(await notice.locator('p[lang="ru"]').textContent(), /нужно защищённое соединение/);
      // Long enough for the app to have mounted, had it been started.
      await page.waitForTimeout(1000);
      assert.equal(await page.locator('main[data-screen]').count(), 0, 'the app did not start');
      // The browser's own note on this origin, about the relay's COOP header.
      const ours = problems.filter((p) => !/Cross-Origin-Opener-Policy header has been ignored/.test(p));
      assert.deepEqual(ours, [], `console errors: ${ours.join('\n')}`);
    } finally {
      await remote.close();
    }
  });

  test('serves an installable manifest with 192/512 px and maskable icons', async () => {
    const res = await fetch(relay.base + '/manifest.webmanifest');
    assert.equal(res.headers.get('content-type'), 'application/manifest+json');
    const manifest = await res.json();
    assert.equal(manifest.name, 'Parley');
    assert.equal(manifest.display, 'standalone');
    assert.equal(manifest.start_url, '/');
    for (const size of [192, 512]) {
      for (const purpose of ['any', 'maskable']) {
        const icon = manifest.icons.find((i) => i.sizes === `${size}x${size}` && i.purpose === purpose);
        assert.ok(icon, `${purpose} icon ${size}px listed`);
        const img = await fetch(relay.base + icon.src);
        assert.equal(img.headers.get('content-type'), 'image/png');
        const png = Buffer.from(await img.arrayBuffer());
        assert.equal(png.readUInt32BE(16), size, `${icon.src} width`);
        assert.equal(png.readUInt32BE(20), size, `${icon.src} height`);
      }
    }
  });

  test('registers the service worker, works offline, and updates cleanly', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = watchPage(page);
    await page.goto(relay.base + '/');
    await page.waitForSelector('main[data-screen="onboarding"] h1');

    const sw = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      return { script: reg.active.scriptURL, caches: await caches.keys() };
    });
    assert.equal(sw.script, relay.base + '/sw.js');
    const oldBuild = readFileSync(path.join(dist, 'sw.js'), 'utf8').match(/BUILD_ID = "([0-9a-f]{16})"/)[1];
    assert.deepEqual(sw.caches, [`parley-shell-${oldBuild}`]);

    // Offline: the shell (HTML, JS, WASM) comes from the cache; the app still
    // boots and says the relay is unreachable instead of breaking.
    await context.setOffline(true);
    await page.reload();
    await page.waitForSelector('main[data-screen="onboarding"] h1', { timeout: 20_000 });
    await page.waitForSelector('.relay-status[data-state="unreachable"]', { timeout: 20_000 });
    await context.setOffline(false);
    await page.reload();
    await page.waitForSelector('.relay-status[data-state="ready"]', { timeout: 20_000 });

    // Publish a new version: the worker changes, installs in the background,
    // and the app offers the update instead of swapping code under the user.
    const newBuild = 'feedfacecafebeef';
    const swPath = path.join(dist, 'sw.js');
    writeFileSync(swPath, readFileSync(swPath, 'utf8').replace(oldBuild, newBuild));
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
    await page.waitForSelector('.update button', { timeout: 20_000 });
    assert.match(await page.textContent('.update'), /new version/);

    await Promise.all([page.waitForEvent('load'), page.click('.update button')]);
    await page.waitForSelector('main[data-screen="onboarding"] h1');
    const after = await page.evaluate(async () => ({
      caches: await caches.keys(),
      controller: navigator.serviceWorker.controller?.scriptURL,
    }));
    // The version before stays cached for pages still running it (ADR 0031).
    assert.deepEqual(after.caches.sort(), [`parley-shell-${newBuild}`, `parley-shell-${oldBuild}`].sort());
    assert.equal(after.controller, relay.base + '/sw.js');
    // Going offline shows the expected fetch failures; nothing else may be logged.
    const unexpected = problems.filter((p) => !/ERR_INTERNET_DISCONNECTED|Failed to load resource/.test(p));
    assert.deepEqual(unexpected, [], unexpected.join('\n'));
    await context.close();
  });

  test('a page left on the version before still opens its screens after another tab updated', async () => {
    // Its own relay and copy of the build: the "new version" here drops a module.
    const own = path.join(tempDir('dist-'), 'dist');
    cpSync(DIST, own, { recursive: true });
    const r = await startRelay({ staticDir: own });
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(r.base + '/');
      await onboard(page, 'Old tab', null, false);
      await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 20_000 });
      // Precached once the worker is active: every module of this version.
      const swPath = path.join(own, 'sw.js');
      const sw = readFileSync(swPath, 'utf8');
      const oldBuild = sw.match(/BUILD_ID = "([0-9a-f]{16})"/)[1];
      const settings = readdirSync(own).find((n) => /-split_settings\.wasm$/.test(n));
      assert.ok(sw.includes(`"/${settings}"`), 'the settings module is precached');

      // A new version names its modules anew: this one's settings module is
      // gone from the relay and from the new worker's list.
      for (const n of readdirSync(own)) if (n.startsWith(settings)) rmSync(path.join(own, n));
      const next = sw.replace(oldBuild, 'feedfacecafebeef')
        .replace(`"/${settings}", `, '').replace(`, "/${settings}"`, '');
      assert.ok(!next.includes(settings));
      writeFileSync(swPath, next);
      await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
      await page.waitForSelector('.update button', { timeout: 20_000 });
      // Another tab takes the update: the waiting worker activates and now
      // controls this page too, which still runs the version before.
      await page.evaluate(async () => {
        const reg = await navigator.serviceWorker.getRegistration();
        reg.waiting.postMessage({ type: 'skip-waiting' });
      });
      await page.waitForFunction(async () => {
        const reg = await navigator.serviceWorker.getRegistration();
        return !reg.waiting && reg.active?.state === 'activated' && (await caches.keys()).includes('parley-shell-feedfacecafebeef');
      }, null, { timeout: 20_000 });

      // Its Settings module comes from the version before's cache.
      await page.getByRole('button', { name: 'Settings' }).click();
      await page.waitForSelector('main[data-screen="settings"] h1', { timeout: 20_000 });
      // The reload the banner offers brings this page to the new version.
      await Promise.all([page.waitForEvent('load'), page.click('.update button')]);
      await page.waitForSelector('main[data-screen="home"]', { timeout: 20_000 });
    } finally {
      await context.close();
      await r.stop();
    }
  });

  test('the file worker starts under the CSP, and a failed load reaches the page at once', async () => {
    // No service worker: its cache would answer before the broken route below.
    const context = await browser.newContext({ serviceWorkers: 'block' });
    const page = await context.newPage();
    const problems = watchPage(page);
    await page.goto(relay.base + '/');
    const start = () => page.evaluate(() => new Promise((resolve) => {
      const w = new Worker('/parley-worker_loader.js');
      const t = performance.now();
      w.onmessage = (e) => resolve({ message: e.data, ms: performance.now() - t });
      w.onerror = (e) => resolve({ error: e.message, ms: performance.now() - t });
    }));
    assert.deepEqual((await start()).message, { kind: 'ready' });
    assert.deepEqual(problems, []);
    // The page waits for "ready" or an error; a wasm that cannot load must
    // be an error event, not a promise rejected where only the worker sees it.
    await context.route('**/parley-worker_bg.wasm', (r) => r.fulfill({ status: 404, body: 'gone' }));
    const failed = await start();
    assert.match(failed.error ?? '', /404/, JSON.stringify(failed));
    await context.close();
  });

  test('relay stays healthy and reports readiness to the page', async () => {
    const health = await fetch(relay.base + '/healthz');
    assert.equal(health.status, 200);
    const ready = await (await fetch(relay.base + '/readyz')).json();
    assert.equal(ready.ready, true);
  });
});
