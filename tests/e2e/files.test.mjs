// Encrypted files between two browsers on a real relay (local blob store):
// a file waits in an attach sheet (lifetime, preview; Escape or Cancel
// send nothing); a 20 MiB file arrives byte-identical and leaves storage once downloaded, a
// deletion timer counts down on both sides and the sweeper removes the
// object, GPS EXIF is stripped before encryption, tampered ciphertext,
// over-size files and vanished objects give clear errors, and so does a
// digest helper worker that stops mid-file (one that cannot load leaves the
// file worker to digest alone).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newUser, pairByLink, screenshot } from './app.mjs';
import { launchBrowser, startRelay } from './harness.mjs';

const T = { timeout: 30_000 };
const MAX = 32 * 1024 * 1024;
/** The file worker's script, which its digest helper also loads. */
const LOADER = '/parley-worker_loader.js';

const sha256 = (b) => createHash('sha256').update(b).digest('hex');

/** A small real JPEG (made by Chromium) with an EXIF APP1 segment holding
 * GPS data; `stripes`: 200×120 of 4 px black and white columns instead. */
async function jpegWithGps(browser, stripes = false) {
  const page = await browser.newPage();
  const jpeg = Buffer.from(await page.evaluate(async (stripes) => {
    const c = document.createElement('canvas');
    const g = c.getContext('2d');
    if (stripes) {
      c.width = 200; c.height = 120;
      g.fillStyle = '#fff'; g.fillRect(0, 0, 200, 120);
      g.fillStyle = '#000';
      for (let x = 0; x < 200; x += 8) g.fillRect(x, 0, 4, 120);
    } else {
      c.width = 64; c.height = 48;
      g.fillStyle = '#1b6e80'; g.fillRect(0, 0, 64, 48);
      g.fillStyle = '#fff'; g.fillRect(8, 8, 20, 20);
    }
    const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.95));
    return Array.from(new Uint8Array(await blob.arrayBuffer()));
  }, stripes));
  await page.close();
  const exif = Buffer.concat([
    Buffer.from('Exif\0\0MM\0*\0\0\0\x08', 'latin1'),
    Buffer.from('GPSLatitude 52/1 31/1 12/1 N GPSLongitude 13/1 24/1 36/1 E', 'latin1'),
  ]);
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1]), Buffer.from([(exif.length + 2) >> 8, (exif.length + 2) & 255]), exif]);
  return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
}

describe('encrypted files', () => {
  let relay, browser, alice, bob;
  // Object files in the local store (sharded directories), full paths.
  const blobs = () => {
    const root = path.join(relay.dir, 'data', 'blobs');
    try {
      return readdirSync(root, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && !e.name.startsWith('.'))
        .map((e) => path.join(e.parentPath ?? e.path, e.name));
    } catch {
      return [];
    }
  };

  before(async () => {
    relay = await startRelay({ env: { PARLEY_SWEEP_INTERVAL_SECS: '1', PARLEY_MAX_BLOB_BYTES: String(MAX) } });
    browser = await launchBrowser();
    alice = await newUser(browser, relay.base, 'Alice');
    bob = await newUser(browser, relay.base, 'Bob');
    await pairByLink(alice, bob);
    await alice.page.waitForSelector('button[aria-label="Video call"]:not([disabled])', T);
    watchWorkers(alice.page);
    watchWorkers(bob.page);
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
  });

  // Scripts of the dedicated workers each page started.
  const workersOf = new Map();
  const watchWorkers = (page) => {
    workersOf.set(page, []);
    page.on('worker', (w) => workersOf.get(page).push(new URL(w.url()).pathname));
  };
  const fileWorkers = (page) => workersOf.get(page).filter((p) => p === LOADER).length;
  const noWorkersLeft = async (page) => {
    const deadline = Date.now() + 5_000;
    while (page.workers().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return page.workers().length === 0;
  };

  /** The sheet a file waits in before it is sent. */
  const sheet = (page) => page.getByRole('dialog', { name: 'Send a file' });
  /** Chooses a file, then sends it from the attach sheet; `choose` may set
   * its lifetime and "delete after download" first. */
  const attach = async (page, name, mimeType, buffer, choose) => {
    await page.locator('input[type="file"]').setInputFiles({ name, mimeType, buffer });
    await sheet(page).waitFor(T);
    if (choose) await choose(sheet(page));
    await sheet(page).getByRole('button', { name: 'Send file' }).click();
    await sheet(page).waitFor({ state: 'hidden', ...T });
  };
  const bubble = (page, name) => page.locator('.msg.file', { hasText: name });
  /** The sender's bubble says the metadata went; Bob downloads the JPEG,
   * which has no EXIF or GPS left. */
  const jpegArrivesClean = async (from, name) => {
    await bubble(from, name).locator('.file-meta', { hasText: 'Location and camera data removed' }).waitFor(T);
    const theirs = bubble(bob.page, name);
    await theirs.waitFor(T);
    const [download] = await Promise.all([
      bob.page.waitForEvent('download', T),
      theirs.getByRole('button', { name: 'Accept and download' }).click(),
    ]);
    const got = readFileSync(await download.path());
    assert.ok(!got.includes(Buffer.from('Exif')), 'no EXIF segment');
    assert.ok(!got.includes(Buffer.from('GPSLatitude')), 'no GPS data');
    assert.deepEqual(got.subarray(0, 2), Buffer.from([0xff, 0xd8]), 'still a JPEG');
    return { theirs, got };
  };

  test('a 20 MiB file arrives byte-identical and is deleted from storage once downloaded', async () => {
    const data = randomBytes(20 * 1024 * 1024);
    await attach(alice.page, 'video.bin', 'application/octet-stream', data);
    const mine = bubble(alice.page, 'video.bin');
    await mine.waitFor(T);
    await mine.locator('.file-state', { hasText: 'Waiting for Bob to accept' }).waitFor(T);
    assert.equal(blobs().length, 1, 'ciphertext in storage');
    const stored = readFileSync(blobs()[0]);
    assert.ok(stored.length > data.length, 'padded ciphertext');
    assert.ok(!stored.includes(data.subarray(0, 64)), 'storage holds no plaintext');
    // Encryption ran off the page's thread, in the file worker, which is gone again;
    // for a file this size the worker digested the ciphertext on a helper
    // worker (the same module, started by it) beside the cipher.
    assert.equal(fileWorkers(alice.page), 2, 'the file worker and its digest helper, for the upload');
    assert.ok(await noWorkersLeft(alice.page), 'the file worker was terminated');

    const theirs = bubble(bob.page, 'video.bin');
    await theirs.waitFor(T);
    assert.match(await theirs.textContent(), /21\.0 MB/);
    await screenshot(bob.page, 'file-offer');
    const [download] = await Promise.all([
      bob.page.waitForEvent('download', T),
      theirs.getByRole('button', { name: 'Accept and download' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'video.bin');
    assert.equal(sha256(readFileSync(await download.path())), sha256(data), 'same bytes');
    assert.equal(fileWorkers(bob.page), 2, 'decrypted in a file worker, digested by its helper');
    assert.ok(await noWorkersLeft(bob.page), 'the file worker was terminated');
    await mine.locator('.file-state', { hasText: 'Downloaded and deleted from storage' }).waitFor(T);
    assert.deepEqual(blobs(), [], 'object deleted from storage');
  });

  test('a file pasted into the message box is sent', async () => {
    await alice.page.getByLabel('Message', { exact: true }).focus();
    await alice.page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(['pasted from the clipboard'], 'pasted.txt', { type: 'text/plain' }));
      const box = document.querySelector('textarea');
      box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
    });
    await sheet(alice.page).getByText('pasted.txt').waitFor(T);
    await sheet(alice.page).getByRole('button', { name: 'Send file' }).click();
    const theirs = bubble(bob.page, 'pasted.txt');
    await theirs.waitFor(T);
    assert.equal(await alice.page.getByLabel('Message', { exact: true }).inputValue(), '', 'nothing pasted as text');
    const [download] = await Promise.all([
      bob.page.waitForEvent('download', T),
      theirs.getByRole('button', { name: 'Accept and download' }).click(),
    ]);
    assert.equal(readFileSync(await download.path(), 'utf8'), 'pasted from the clipboard');
    // Fetched, so deleted: the next tests count the objects in storage.
    const deadline = Date.now() + 10_000;
    while (blobs().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(blobs(), []);
  });

  test('the attach sheet: keyboard focus, name and size, Escape and Cancel send nothing', async () => {
    const page = alice.page;
    const before = await bubble(page, 'draft.txt').count();
    await page.locator('input[type="file"]').setInputFiles({ name: 'draft.txt', mimeType: 'text/plain', buffer: Buffer.alloc(2048, 120) });
    await sheet(page).waitFor(T);
    assert.equal(await sheet(page).locator('.name').textContent(), 'draft.txt');
    assert.equal(await sheet(page).locator('.size').textContent(), '2.0 kB');
    assert.equal(await sheet(page).locator('img').count(), 0, 'no preview for text');
    assert.ok(await page.evaluate(() => document.activeElement?.closest('dialog') !== null), 'focus in the sheet');
    // Nothing of the choice stays above the composer.
    assert.equal(await page.evaluate(() => document.querySelectorAll('main select').length
      - document.querySelectorAll('dialog select').length), 1, 'only the disappearing-message timer');
    await page.keyboard.press('Escape');
    await sheet(page).waitFor({ state: 'hidden', ...T });
    assert.ok(await page.evaluate(() => document.activeElement === document.querySelector('.composer textarea')), 'focus back on the composer');

    await page.locator('input[type="file"]').setInputFiles({ name: 'draft.txt', mimeType: 'text/plain', buffer: Buffer.alloc(10, 120) });
    await sheet(page).getByRole('button', { name: 'Cancel' }).click();
    await sheet(page).waitFor({ state: 'hidden', ...T });
    assert.ok(await page.evaluate(() => document.activeElement === document.querySelector('.composer textarea')));

    // Closed, and another file picked before the browser fired the close
    // event (it is queued): that late event must not cancel the new pick.
    // (It did once under load in CI, between Escape and the pick above.)
    await page.locator('input[type="file"]').setInputFiles({ name: 'draft.txt', mimeType: 'text/plain', buffer: Buffer.alloc(10, 120) });
    await sheet(page).waitFor(T);
    await page.evaluate(() => {
      document.querySelector('dialog.attach-sheet').close();
      const input = document.querySelector('.composer input[type="file"]');
      const picked = new DataTransfer();
      picked.items.add(new File(['x'.repeat(10)], 'again.txt', { type: 'text/plain' }));
      input.files = picked.files;
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(await sheet(page).isVisible(), 'the sheet is open for the new file');
    assert.equal(await sheet(page).locator('.name').textContent(), 'again.txt');
    await sheet(page).getByRole('button', { name: 'Cancel' }).click();
    await sheet(page).waitFor({ state: 'hidden', ...T });

    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await bubble(page, 'draft.txt').count(), before, 'nothing sent');
    assert.equal(await bubble(page, 'again.txt').count(), 0, 'nothing sent');
    assert.deepEqual(blobs(), [], 'nothing uploaded');
  });

  test('the deletion timer counts down on both sides and the object is gone when it ends', async () => {
    await attach(alice.page, 'note.txt', 'text/plain', Buffer.from('short-lived secret note'), async (s) => {
      await s.getByLabel('File lifetime').selectOption('30000');
      await s.getByLabel('or as soon as it is downloaded').uncheck();
    });
    for (const page of [alice.page, bob.page]) {
      const t = bubble(page, 'note.txt').locator('.file-timer');
      await t.waitFor(T);
      assert.match(await t.textContent(), /^Deleted from storage in \d+\u00a0s$/);
    }
    assert.equal(blobs().length, 1);
    for (const page of [alice.page, bob.page]) {
      await bubble(page, 'note.txt').locator('.file-timer', { hasText: /^Deleted from storage$/ }).waitFor({ timeout: 45_000 });
    }
    const deadline = Date.now() + 10_000;
    while (blobs().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(blobs(), [], 'the sweeper deleted the expired object');
    assert.equal(await bubble(bob.page, 'note.txt').getByRole('button', { name: 'Accept and download' }).count(), 0);
  });

  test('a JPEG with GPS EXIF arrives without it, and shows a preview', async () => {
    const jpeg = await jpegWithGps(browser);
    assert.ok(jpeg.includes(Buffer.from('GPSLatitude')));
    await attach(alice.page, 'holiday.jpg', 'image/jpeg', jpeg, async (s) => {
      // The sheet shows the picture, and keeps the last file's choices.
      await s.locator('img.attach-preview').waitFor(T);
      assert.equal(await s.locator('img.attach-preview').evaluate((i) => i.naturalWidth), 64);
      assert.equal(await s.getByLabel('File lifetime').inputValue(), '30000');
      await s.getByLabel('File lifetime').selectOption('86400000');
      await s.getByLabel('or as soon as it is downloaded').check();
    });
    await jpegArrivesClean(alice.page, 'holiday.jpg');
    await bob.page.waitForFunction(() => document.querySelector('img.preview')?.naturalWidth === 64, null, T);
  });

  /** Draws a region over the preview, from and to image pixels. */
  const drawRegion = async (page, img, [x0, y0], [x1, y1]) => {
    const box = await img.boundingBox();
    const [w, h] = await img.evaluate((i) => [i.naturalWidth, i.naturalHeight]);
    const at = (x, y) => [box.x + (x * box.width) / w, box.y + (y * box.height) / h];
    await page.mouse.move(...at(x0, y0));
    await page.mouse.down();
    await page.mouse.move(...at(x1, y1), { steps: 6 });
    await page.mouse.up();
  };
  /** Applies the drawn region and waits for the worker's new preview. */
  const applyEdit = async (s, img) => {
    const before = await img.getAttribute('src');
    await s.getByRole('button', { name: 'Apply' }).click();
    await s.page().waitForFunction(
      (b) => { const i = document.querySelector('.attach-sheet img.attach-preview'); return i && i.src !== b && i.complete && i.naturalWidth > 0; },
      before, T);
  };
  /** SHA-256 of an <img>'s decoded pixels. */
  const pixelDigest = (img) => img.evaluate(async (i) => {
    const c = document.createElement('canvas');
    c.width = i.naturalWidth; c.height = i.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(i, 0, 0);
    const d = await crypto.subtle.digest('SHA-256', g.getImageData(0, 0, c.width, c.height).data);
    return `${c.width}x${c.height}:${Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('')}`;
  });
  /** Roughness (mean grey-level step between horizontal neighbours) over
   * rectangles of an image's bytes, decoded by Chromium: sharp stripes step
   * by ~64 on average, a blur leaves almost none. */
  const decodeStats = (page, bytes, rects) => page.evaluate(async ({ bytes, rects }) => {
    const bmp = await createImageBitmap(new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }));
    const c = document.createElement('canvas');
    c.width = bmp.width; c.height = bmp.height;
    const g = c.getContext('2d');
    g.drawImage(bmp, 0, 0);
    const roughness = ([x, y, w, h]) => {
      const d = g.getImageData(x, y, w, h).data;
      const grey = (i) => (d[i] + d[i + 1] + d[i + 2]) / 3;
      let sum = 0, n = 0;
      for (let r = 0; r < h; r++) {
        for (let col = 1; col < w; col++) {
          sum += Math.abs(grey((r * w + col) * 4) - grey((r * w + col - 1) * 4));
          n++;
        }
      }
      return sum / n;
    };
    return { width: bmp.width, height: bmp.height, spreads: rects.map(roughness) };
  }, { bytes: Array.from(bytes), rects });

  test('an image cropped and blurred before sending arrives as previewed: edits applied, no metadata', async () => {
    const jpeg = await jpegWithGps(browser, true);
    assert.ok(jpeg.includes(Buffer.from('GPSLatitude')));
    const page = alice.page;
    let previewPixels;
    const workersBefore = fileWorkers(page);
    await attach(page, 'street.jpg', 'image/jpeg', jpeg, async (s) => {
      const img = s.locator('img.attach-preview');
      await img.waitFor(T);
      await page.waitForFunction(() => document.querySelector('.attach-sheet img.attach-preview')?.naturalWidth === 200, null, T);
      // Crop to 160×100 from (20, 10).
      await s.getByRole('button', { name: 'Crop' }).click();
      await drawRegion(page, img, [20, 10], [180, 110]);
      await applyEdit(s, img);
      const [w, h] = await img.evaluate((i) => [i.naturalWidth, i.naturalHeight]);
      assert.ok(Math.abs(w - 160) <= 2 && Math.abs(h - 100) <= 2, `cropped to ${w}×${h}`);
      // Blur the left half of what is left (a face, an address).
      await s.getByRole('button', { name: 'Blur' }).click();
      // Drawn from inside towards the corner and past it: clamped to the image.
      await drawRegion(page, img, [78, 96], [-10, -10]);
      await applyEdit(s, img);
      await s.getByRole('status').filter({ hasText: 'Edit applied' }).waitFor(T);
      // The preview is the very image that will be sent (same pixels).
      previewPixels = await pixelDigest(img);
      // Both renders ran in the one worker the editor keeps.
      assert.equal(fileWorkers(page) - workersBefore, 1, 'one file worker for the editor');
    });
    const { theirs, got } = await jpegArrivesClean(page, 'street.jpg');
    const shown = theirs.locator('img.preview');
    await shown.waitFor(T);
    await bob.page.waitForFunction((i) => i.complete && i.naturalWidth > 0, await shown.elementHandle(), T);
    assert.equal(await pixelDigest(shown), previewPixels, 'what arrived is what the preview showed');
    // Pixels: the blurred region is smooth, the rest still has its sharp stripes.
    const blurred = [10, 10, 56, 80];
    const sharp = [100, 10, 50, 80];
    const stats = await decodeStats(bob.page, got, [blurred, sharp]);
    assert.ok(Math.abs(stats.width - 160) <= 2 && Math.abs(stats.height - 100) <= 2, `arrived ${stats.width}×${stats.height}`);
    assert.ok(stats.spreads[0] < 4, `blurred region roughness ${stats.spreads[0]}`);
    assert.ok(stats.spreads[1] > 40, `untouched region roughness ${stats.spreads[1]}`);
    // The original's stripes are that sharp too (the check can fail).
    const original = await decodeStats(bob.page, jpeg, [[30, 20, 56, 80]]);
    assert.ok(original.spreads[0] > 40, `original roughness ${original.spreads[0]}`);
  });

  test('tampered ciphertext, an over-size file and a vanished object each give a clear error', async () => {
    await attach(alice.page, 'contract.pdf', 'application/pdf', randomBytes(5000));
    const theirs = bubble(bob.page, 'contract.pdf');
    await theirs.waitFor(T);
    const file = blobs()[0];
    const b = readFileSync(file);
    b[100] ^= 1;
    writeFileSync(file, b);
    await theirs.getByRole('button', { name: 'Accept and download' }).click();
    await theirs.locator('[role="alert"]', { hasText: 'altered in storage' }).waitFor(T);

    // The same from 8 MiB on, where the worker digests on its helper: one
    // flipped byte near the end is still refused, and nothing is saved.
    const before = fileWorkers(bob.page);
    await attach(alice.page, 'archive.bin', 'application/octet-stream', randomBytes(9 * 1024 * 1024));
    const big = bubble(bob.page, 'archive.bin');
    await big.waitFor(T);
    const stored = blobs().find((f) => f !== file);
    const c = readFileSync(stored);
    c[c.length - 100] ^= 1;
    writeFileSync(stored, c);
    let saved = false;
    bob.page.once('download', () => { saved = true; });
    await big.getByRole('button', { name: 'Accept and download' }).click();
    await big.locator('[role="alert"]', { hasText: 'altered in storage' }).waitFor(T);
    assert.equal(fileWorkers(bob.page) - before, 2, 'the file worker and its helper');
    assert.equal(saved, false, 'nothing offered as a download');

    await attach(alice.page, 'huge.bin', 'application/octet-stream', Buffer.alloc(MAX + 1));
    await alice.page.locator('.error[role="alert"]', { hasText: 'huge.bin is too large for this relay' }).waitFor(T);
    assert.equal(await bubble(alice.page, 'huge.bin').count(), 0, 'nothing half-sent is shown as sent');

    await attach(alice.page, 'gone.txt', 'text/plain', Buffer.from('x'.repeat(100)));
    const gone = bubble(bob.page, 'gone.txt');
    await gone.waitFor(T);
    for (const f of blobs()) unlinkSync(f);
    await gone.getByRole('button', { name: 'Accept and download' }).click();
    await gone.locator('[role="alert"]', { hasText: 'no longer in storage' }).waitFor(T);
  });

  /** Runs `hook` on the `n`th file worker `page` starts from now on (the
   * first is the page's file worker, the second its helper). */
  const onFileWorker = (page, n, hook) => {
    let seen = 0;
    const listener = (w) => {
      if (new URL(w.url()).pathname !== LOADER || ++seen !== n) return;
      page.off('worker', listener);
      hook(w).catch(() => { /* the worker ended first: the assertions below tell */ });
    };
    page.on('worker', listener);
  };

  test('a helper that stops mid-file fails the job with a clear error; one that cannot load leaves the worker alone', async () => {
    // Upload: the helper throws on the first part it gets after the hook
    // (of the 24 parts and the end), as a crash in its code would. The job fails as helper-stopped, nothing is
    // stored or sent, and the workers are gone.
    const stored = blobs().length;
    onFileWorker(alice.page, 2, (helper) => helper.evaluate((n) => new Promise((resolve) => {
      const wrap = () => {
        const handle = self.onmessage;
        if (!handle) { setTimeout(wrap, 1); return; }
        let parts = 0;
        self.onmessage = (e) => {
          if (++parts === n) throw new Error('the helper crashed (test)');
          return handle.call(self, e);
        };
        resolve();
      };
      wrap();
    }), 1));
    await attach(alice.page, 'crash.bin', 'application/octet-stream', randomBytes(24 * 1024 * 1024));
    await alice.page.locator('[role="alert"]', { hasText: "The file worker's second thread stopped" }).waitFor(T);
    assert.ok(await noWorkersLeft(alice.page), 'the file worker and its helper were terminated');
    assert.equal(blobs().length, stored, 'nothing uploaded');
    assert.equal(await bubble(alice.page, 'crash.bin').count(), 0, 'nothing half-sent is shown as sent');

    // Download: the file worker's helper is pointed at a script that does
    // not exist, so it never says ready; the worker digests alone and the
    // file arrives intact. At once: the load's error event is handled, so
    // the download does not wait out the 10 s start limit.
    const data = randomBytes(10 * 1024 * 1024);
    await attach(alice.page, 'alone.bin', 'application/octet-stream', data);
    const theirs = bubble(bob.page, 'alone.bin');
    await theirs.waitFor(T);
    const before = workersOf.get(bob.page).length;
    onFileWorker(bob.page, 1, (w) => w.evaluate(() => {
      const Real = self.Worker;
      self.Worker = class extends Real {
        constructor(_url, options) { super('/no-such-helper.js', options); }
      };
    }));
    const [download] = await Promise.all([
      bob.page.waitForEvent('download', { timeout: 8_000 }),
      theirs.getByRole('button', { name: 'Accept and download' }).click(),
    ]);
    assert.equal(sha256(readFileSync(await download.path())), sha256(data), 'same bytes');
    assert.deepEqual(workersOf.get(bob.page).slice(before), [LOADER, '/no-such-helper.js'], 'the helper was refused');
    assert.ok(await noWorkersLeft(bob.page), 'the file worker was terminated');
  });
});
