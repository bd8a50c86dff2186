// Encrypted files between two browsers on a real relay (local blob store):
// a file waits in an attach sheet (lifetime, preview; Escape or Cancel
// send nothing); a 20 MiB file arrives byte-identical and leaves storage once downloaded, a
// deletion timer counts down on both sides and the sweeper removes the
// object, GPS EXIF is stripped before encryption, and tampered ciphertext,
// over-size files and vanished objects give clear errors.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { newUser, pairByLink, screenshot } from './app.mjs';
import { launchBrowser, startRelay } from './harness.mjs';

const T = { timeout: 30_000 };
const MAX = 32 * 1024 * 1024;

const sha256 = (b) => createHash('sha256').update(b).digest('hex');

/** A small real JPEG (made by Chromium) with an EXIF APP1 segment holding GPS data. */
async function jpegWithGps(browser) {
  const page = await browser.newPage();
  const jpeg = Buffer.from(await page.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 64; c.height = 48;
    const g = c.getContext('2d');
    g.fillStyle = '#1b6e80'; g.fillRect(0, 0, 64, 48);
    g.fillStyle = '#fff'; g.fillRect(8, 8, 20, 20);
    const blob = await new Promise((r) => c.toBlob(r, 'image/jpeg', 0.9));
    return Array.from(new Uint8Array(await blob.arrayBuffer()));
  }));
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
  const fileWorkers = (page) => workersOf.get(page).filter((p) => p === '/parley-worker_loader.js').length;
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
    // Encryption ran off the page's thread, in the file worker, which is gone again.
    assert.equal(fileWorkers(alice.page), 1, 'one file worker started for the upload');
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
    assert.equal(fileWorkers(bob.page), 1, 'decrypted in a file worker');
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
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await bubble(page, 'draft.txt').count(), before, 'nothing sent');
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
    const mine = bubble(alice.page, 'holiday.jpg');
    await mine.locator('.file-meta', { hasText: 'Location and camera data removed' }).waitFor(T);
    const theirs = bubble(bob.page, 'holiday.jpg');
    await theirs.waitFor(T);
    const [download] = await Promise.all([
      bob.page.waitForEvent('download', T),
      theirs.getByRole('button', { name: 'Accept and download' }).click(),
    ]);
    const got = readFileSync(await download.path());
    assert.ok(!got.includes(Buffer.from('Exif')), 'no EXIF segment');
    assert.ok(!got.includes(Buffer.from('GPSLatitude')), 'no GPS data');
    assert.deepEqual(got.subarray(0, 2), Buffer.from([0xff, 0xd8]), 'still a JPEG');
    await bob.page.waitForFunction(() => document.querySelector('img.preview')?.naturalWidth === 64, null, T);
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
});
