// Group rooms in three browsers (Alice, Bob, Carol) on a real relay with
// PostgreSQL (issue 15, ADR 0025). Bob and Carol are only Alice's
// contacts, not each other's. Alice makes a room with both from "New
// room"; each member's messages reach the others, with "read by N of 2";
// a file sent to the room is downloaded by both with the same sha256 and
// leaves storage after the last download; Alice removes Carol: Carol's page says so, and what Alice and Bob send
// next never enters Carol's stored state (read from her IndexedDB, not
// only her screen). A room made with a one-minute lifetime disappears
// from all three and the relay holds no row of its messages.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { backHome, newUser, pairByLink, screenshot } from './app.mjs';
import { freshPgDatabase, launchBrowser, startRelay, watchPage } from './harness.mjs';

const T = { timeout: 30_000 };

/** Home → New room → name, members, lifetime → the room screen. */
async function newRoom(page, name, members, lifetime = 'Never') {
  await page.getByRole('button', { name: 'New room' }).click();
  await page.waitForSelector('main[data-screen="new-room"]', T);
  await page.getByLabel('Room name').fill(name);
  for (const m of members) await page.getByLabel(m, { exact: true }).check();
  await page.getByLabel('The room ends').selectOption({ label: lifetime });
  await page.getByRole('button', { name: 'Create room' }).click();
  await page.waitForSelector('main[data-screen="room"]', T);
  await page.waitForFunction((n) => document.querySelector('.peer-name')?.textContent === n, name, T);
}

async function openRoom(page, name) {
  await page.locator('.conversation.room', { hasText: name }).click();
  await page.waitForSelector('main[data-screen="room"]', T);
}

async function say(page, text) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.keyboard.press('Enter');
}

async function sees(page, text) {
  await page.locator('.msg.in', { hasText: text }).waitFor(T);
}

/** Every record of the app's IndexedDB whose key starts with `prefix`,
 * opened the way the app opens them: key → plaintext (latin1). */
async function records(page, prefix) {
  return page.evaluate(async (prefix) => {
    const db = await new Promise((res, rej) => {
      const r = indexedDB.open('parley');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const all = (store, fn) => new Promise((res, rej) => {
      const r = fn(db.transaction(store).objectStore(store));
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const key = await all('meta', (s) => s.get('wrap'));
    const keys = await all('records', (s) => s.getAllKeys());
    const out = {};
    for (const k of keys.filter((k) => k.startsWith(prefix))) {
      const sealed = await all('records', (s) => s.get(k));
      const plain = new Uint8Array(await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: sealed.slice(0, 12), additionalData: new TextEncoder().encode(k) },
        key, sealed.slice(12)));
      out[k] = new TextDecoder('latin1').decode(plain);
    }
    return out;
  }, prefix);
}

const sha256 = (b) => createHash('sha256').update(b).digest('hex');

async function waitFor(ok, what, ms = 15_000) {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const roomId = (page, name) => page.locator('.conversation.room', { hasText: name }).getAttribute('data-room');

describe('group rooms', () => {
  let relay, browser, db, alice, bob, carol;
  const problems = [];
  // Object files in the relay's local store.
  const blobs = () => {
    try {
      return readdirSync(path.join(relay.dir, 'data', 'blobs'), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && !e.name.startsWith('.'));
    } catch {
      return [];
    }
  };

  before(async () => {
    db = freshPgDatabase();
    relay = await startRelay({ env: { DATABASE_URL: db } });
    browser = await launchBrowser();
    alice = await newUser(browser, relay.base, 'Alice');
    bob = await newUser(browser, relay.base, 'Bob');
    carol = await newUser(browser, relay.base, 'Carol');
    problems.push(watchPage(alice.page), watchPage(bob.page), watchPage(carol.page));
    await pairByLink(alice, bob);
    await backHome(alice.page);
    await backHome(bob.page);
    await pairByLink(alice, carol);
    await backHome(alice.page);
    await backHome(carol.page);
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
  });

  test('messages from each member reach the others, with read states per member', async () => {
    await newRoom(alice.page, 'Trip', ['Bob', 'Carol']);
    assert.match(await alice.page.textContent('.members-count'), /3 members/);
    for (const u of [bob, carol]) await openRoom(u.page, 'Trip');
    await say(alice.page, 'Hello both');
    await sees(bob.page, 'Hello both');
    await sees(carol.page, 'Hello both');
    // Bob and Carol are not contacts: their sessions start from the room.
    await say(bob.page, 'Hi from Bob');
    await sees(alice.page, 'Hi from Bob');
    await sees(carol.page, 'Hi from Bob');
    await say(carol.page, 'Hi from Carol');
    await sees(alice.page, 'Hi from Carol');
    await sees(bob.page, 'Hi from Carol');
    assert.equal(await carol.page.locator('.msg.in', { hasText: 'Hi from Bob' }).locator('.from').textContent(), 'Bob');
    // Typing reaches a member who is not a contact; "@Ca" offers Carol,
    // and a message naming her stands out on her screen.
    const box = bob.page.getByLabel('Message', { exact: true });
    await box.pressSequentially('@Ca');
    await carol.page.locator('.typing', { hasText: 'Bob typing' }).waitFor(T);
    await bob.page.getByRole('option', { name: '@Carol' }).click();
    assert.equal(await box.inputValue(), '@Carol ');
    await box.press('End');
    await box.pressSequentially('look at this');
    await box.press('Enter');
    await carol.page.locator('.msg.in.mention', { hasText: 'look at this' }).waitFor(T);
    await alice.page.locator('.msg.in', { hasText: 'look at this' }).waitFor(T);
    assert.equal(await alice.page.locator('.msg.in.mention').count(), 0, 'only Carol is named');
    // Both others have the room open: Alice's first message is read by 2 of 2.
    const mine = alice.page.locator('.msg.out', { hasText: 'Hello both' });
    await alice.page.locator('.msg.out[data-read-by="2"]', { hasText: 'Hello both' }).waitFor(T);
    assert.equal((await mine.locator('.receipts').textContent()).trim(), 'read by 2 of 2');
    await screenshot(alice.page, 'room');
    // The member list shows a safety number for each other member.
    await alice.page.getByRole('button', { name: 'Members' }).click();
    // The member list comes with its module the first time (ADR 0031).
    await alice.page.locator('.member').first().waitFor(T);
    assert.equal(await alice.page.locator('.member').count(), 3);
    assert.equal(await alice.page.locator('.member .safety').count(), 2);
  });

  test('a file sent to the room is downloaded by both others, then leaves storage', async () => {
    const data = randomBytes(300_000);
    const file = path.join(relay.dir, 'plan.bin');
    writeFileSync(file, data);
    await alice.page.getByLabel('Attach a file').setInputFiles(file);
    // The attach step, as in a conversation: the lifetime, then Send.
    const sheet = alice.page.getByRole('dialog', { name: 'Send a file' });
    await sheet.waitFor(T);
    assert.equal(await sheet.getByLabel('File lifetime').inputValue(), '86400000', 'a day by default');
    await sheet.getByRole('button', { name: 'Send file' }).click();
    await sheet.waitFor({ state: 'hidden', ...T });
    await alice.page.locator('.msg.out.file', { hasText: 'plan.bin' }).waitFor(T);
    assert.equal(blobs().length, 1, 'one object for both members');
    for (const u of [bob, carol]) {
      const theirs = u.page.locator('.msg.in.file', { hasText: 'plan.bin' });
      await theirs.waitFor(T);
      assert.equal(await theirs.locator('.from').textContent(), 'Alice');
      const [download] = await Promise.all([
        u.page.waitForEvent('download', T),
        theirs.getByRole('button', { name: 'Accept and download' }).click(),
      ]);
      assert.equal(download.suggestedFilename(), 'plan.bin');
      assert.equal(sha256(readFileSync(await download.path())), sha256(data), 'same bytes');
      await u.page.locator('.msg.in.file[data-file-state="downloaded"]', { hasText: 'plan.bin' }).waitFor(T);
    }
    // The last member device to download took the object with it.
    await waitFor(() => blobs().length === 0, 'the object is deleted once both downloaded');

    // Dropped on the room, a file takes the same step; Cancel sends nothing.
    await alice.page.evaluate(() => {
      const data = new DataTransfer();
      data.items.add(new File(['dropped'], 'dropped.txt', { type: 'text/plain' }));
      document.querySelector('main[data-screen="room"]')
        .dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    });
    await sheet.getByText('dropped.txt').waitFor(T);
    await sheet.getByRole('button', { name: 'Cancel' }).click();
    await sheet.waitFor({ state: 'hidden', ...T });
    assert.equal(await alice.page.locator('.msg.out.file', { hasText: 'dropped.txt' }).count(), 0);
  });

  test('a removed member is told, and nothing sent after enters her stored state', async () => {
    await backHome(alice.page);
    const id = await roomId(alice.page, 'Trip');
    assert.match(id, /^[0-9a-f]{32}$/);
    await openRoom(alice.page, 'Trip');
    await alice.page.getByRole('button', { name: 'Members' }).click();
    const carolLine = alice.page.locator('.member', { hasText: 'Carol' });
    await carolLine.getByRole('button', { name: 'Remove' }).click();
    await carolLine.getByRole('button', { name: /Remove Carol\?/ }).click();
    await alice.page.locator('.notice', { hasText: 'Alice removed Carol' }).waitFor(T);
    await carol.page.locator('.notice', { hasText: 'Alice removed you from the room' }).waitFor(T);
    await carol.page.locator('.read-only').waitFor(T);
    assert.equal(await carol.page.getByLabel('Message', { exact: true }).isDisabled(), true);
    await bob.page.locator('.notice', { hasText: 'Alice removed Carol' }).waitFor(T);
    const before = await records(carol.page, `room/${id}`);
    const historyBefore = Object.keys(await records(carol.page, `rmsg/${id}/`)).length;

    await say(alice.page, 'After Carol left');
    await sees(bob.page, 'After Carol left');
    await say(bob.page, 'Bob after too');
    await sees(alice.page, 'Bob after too');
    // Give Carol's app every chance to take something in.
    await carol.page.waitForTimeout(1500);
    const stored = { ...(await records(carol.page, `room/${id}`)), ...(await records(carol.page, `rmsg/${id}/`)) };
    assert.ok(Object.keys(stored).length > 0, 'Carol still has the room (read-only)');
    for (const v of Object.values(stored)) {
      assert.ok(!v.includes('After Carol left') && !v.includes('Bob after too'), 'no later text in her records');
    }
    assert.deepEqual(await records(carol.page, `room/${id}`), before, 'her room keys did not change');
    assert.equal(Object.keys(await records(carol.page, `rmsg/${id}/`)).length, historyBefore);
    assert.equal(await carol.page.locator('.msg', { hasText: 'After Carol left' }).count(), 0);
  });

  test('a room with a one-minute lifetime disappears from all three and from the relay', async () => {
    for (const u of [alice, bob, carol]) {
      if (!(await u.page.locator('main[data-screen="home"]').count())) await backHome(u.page);
    }
    await newRoom(alice.page, 'Brief', ['Bob', 'Carol'], '1 minute');
    assert.match(await alice.page.textContent('.room-ends'), /ends in/);
    await backHome(alice.page);
    await openRoom(bob.page, 'Brief');
    await say(bob.page, 'Quick one');
    await openRoom(carol.page, 'Brief');
    await sees(carol.page, 'Quick one');
    await alice.page.locator('.conversation.room', { hasText: 'Brief' }).waitFor(T);
    // The lifetime ends: every app deletes the room.
    for (const u of [alice, bob, carol]) {
      await u.page.locator('.conversation.room', { hasText: 'Brief' }).waitFor({ state: 'detached', timeout: 90_000 });
    }
    for (const u of [bob, carol]) await u.page.waitForSelector('main[data-screen="home"]', T);
    // No envelope of it (nor of anything else) waits on the relay.
    const rows = execFileSync('psql', [db, '-tA', '-c',
      'SELECT (SELECT count(*) FROM envelopes) + (SELECT count(*) FROM payloads)'], { encoding: 'utf8' });
    assert.equal(rows.trim(), '0');
  });

  test('no console errors along the way', () => {
    const unexpected = problems.flat().filter((p) => !/WebSocket connection/.test(p));
    assert.deepEqual(unexpected, []);
  });
});
