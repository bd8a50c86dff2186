// Backup and restore (ADR 0021) in real browsers against a real relay:
// Alice and Bob pair and chat; Alice backs up (password, then recovery
// key); a fresh browser restores the file. A wrong secret shows the error
// and creates nothing; the right one shows Bob and the history, and Bob and
// the restored browser write to each other without pairing again.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  PHONE, backHome, incoming, newUser, openConversation, pairByLink, screenshot, send,
} from './app.mjs';
import { freshPgDatabase, launchBrowser, startRelay, tempDir, watchPage } from './harness.mjs';

const T = { timeout: 30_000 };

/** Opens Settings → Back up and saves the file it offers; returns its path. */
async function download(page, start) {
  const [file] = await Promise.all([page.waitForEvent('download', T), start()]);
  assert.match(file.suggestedFilename(), /^parley-backup-\d{4}-\d\d-\d\d\.parley$/);
  const to = path.join(tempDir('backup-'), file.suggestedFilename());
  await file.saveAs(to);
  await page.getByText('The backup file was saved.').waitFor(T);
  return to;
}

/** A fresh browser context on the onboarding screen, in restore mode. */
async function freshRestore(browser, base) {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.goto(base + '/');
  await page.waitForSelector('main[data-screen="onboarding"]', T);
  await page.waitForSelector('.relay-status[data-state="ready"]', T);
  await page.getByRole('button', { name: 'Restore from a backup' }).click();
  return { context, page };
}

/** How many records this origin's store holds (0: nothing was created). */
async function records(page) {
  return page.evaluate(async () => {
    const names = (await indexedDB.databases()).map((d) => d.name);
    if (!names.includes('parley')) return 0;
    const db = await new Promise((res, rej) => {
      const r = indexedDB.open('parley');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    if (!db.objectStoreNames.contains('records')) return 0;
    return new Promise((res, rej) => {
      const r = db.transaction('records').objectStore('records').count();
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
  });
}

/** The restored browser shows Bob and the history; messages go both ways. */
async function goesOn(restored, bob, tag) {
  await restored.waitForSelector('main[data-screen="home"]', T);
  await openConversation(restored, 'Bob');
  await restored.locator('.msg.out', { hasText: 'Before the backup' }).waitFor(T);
  await incoming(restored, 'Noted');
  await send(bob, `Welcome back ${tag}`);
  await incoming(restored, `Welcome back ${tag}`);
  await send(restored, `From the restored browser ${tag}`);
  await incoming(bob, `From the restored browser ${tag}`);
  assert.equal(await bob.locator('.peer-name').textContent(), 'Alice');
}

describe('backup and restore', () => {
  let relay, browser, alice, bob;
  const problems = [];

  before(async () => {
    // The setting: a real relay on PostgreSQL.
    relay = await startRelay({ env: { DATABASE_URL: freshPgDatabase() } });
    browser = await launchBrowser();
    alice = await newUser(browser, relay.base, 'Alice');
    bob = await newUser(browser, relay.base, 'Bob');
    problems.push(watchPage(alice.page), watchPage(bob.page));
    await pairByLink(alice, bob);
    await send(alice.page, 'Before the backup');
    await incoming(bob.page, 'Before the backup');
    await send(bob.page, 'Noted');
    await incoming(alice.page, 'Noted');
    await backHome(alice.page);
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
  });

  test('with a password: a wrong one creates nothing, the right one restores', async () => {
    const page = alice.page;
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Backup password').fill('short');
    await page.getByLabel('The same password again').fill('short');
    await page.getByRole('button', { name: 'Download the backup' }).click();
    await page.getByText('Use at least 10 characters.').waitFor(T);
    await page.getByLabel('Backup password').fill('correct horse battery');
    await page.getByLabel('The same password again').fill('correct horse batter');
    await page.getByRole('button', { name: 'Download the backup' }).click();
    await page.getByText('The two passwords differ.').waitFor(T);
    await page.getByLabel('The same password again').fill('correct horse battery');
    const file = await download(page, () => page.getByRole('button', { name: 'Download the backup' }).click());
    await backHome(page);

    const fresh = await freshRestore(browser, relay.base);
    problems.push(watchPage(fresh.page));
    await fresh.page.setInputFiles('#backup-file', file);
    await fresh.page.getByLabel('Backup password').fill('correct horse batteries');
    await fresh.page.getByRole('button', { name: 'Restore', exact: true }).click();
    await fresh.page.getByRole('alert').filter({ hasText: 'Wrong password or recovery key.' }).waitFor(T);
    await screenshot(fresh.page, 'restore-wrong-password');
    assert.equal(await fresh.page.getAttribute('main', 'data-screen'), 'onboarding');
    assert.equal(await records(fresh.page), 0, 'nothing was created');

    // A file that is not a backup says so.
    await fresh.page.setInputFiles('#backup-file', {
      name: 'notes.parley', mimeType: 'text/plain', buffer: Buffer.from('shopping list: milk, eggs'),
    });
    await fresh.page.getByLabel('Backup password').fill('correct horse battery');
    await fresh.page.getByRole('button', { name: 'Restore', exact: true }).click();
    await fresh.page.getByRole('alert').filter({ hasText: 'not a Parley backup' }).waitFor(T);
    assert.equal(await records(fresh.page), 0);

    await fresh.page.setInputFiles('#backup-file', file);
    await fresh.page.getByRole('button', { name: 'Restore', exact: true }).click();
    await goesOn(fresh.page, bob.page, 'one');
    // The old browser still gets Bob's messages too.
    await openConversation(alice.page, 'Bob');
    await incoming(alice.page, 'Welcome back one');
    await backHome(alice.page);
    await fresh.context.close();
  });

  test('with a recovery key: shown once, a typo is caught, the key restores', async () => {
    const page = alice.page;
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('With a recovery key').check();
    await page.getByRole('button', { name: 'Show my recovery key' }).click();
    const key = (await page.textContent('.recovery-key')).trim();
    assert.match(key, /^([0-9A-Z]{4}-){13}[0-9A-Z]$/);
    await screenshot(page, 'backup-recovery-key');
    const button = page.getByRole('button', { name: 'Download the backup' });
    assert.equal(await button.isDisabled(), true, 'not before "I wrote it down"');
    await page.getByLabel('I wrote it down').check();
    const file = await download(page, () => button.click());
    assert.equal(await page.locator('.recovery-key').count(), 0, 'shown only once');
    await backHome(page);

    const fresh = await freshRestore(browser, relay.base);
    problems.push(watchPage(fresh.page));
    await fresh.page.setInputFiles('#backup-file', file);
    await fresh.page.getByLabel('Recovery key', { exact: true }).check();
    const typo = key.slice(0, 5) + (key[5] === 'A' ? 'B' : 'A') + key.slice(6);
    await fresh.page.getByLabel('Recovery key (dashes and case do not matter)').fill(typo);
    await fresh.page.getByRole('button', { name: 'Restore', exact: true }).click();
    await fresh.page.getByRole('alert').filter({ hasText: 'The recovery key has a typo' }).waitFor(T);
    assert.equal(await records(fresh.page), 0, 'nothing was created');

    await fresh.page.getByLabel('Recovery key (dashes and case do not matter)')
      .fill(key.toLowerCase().replaceAll('-', ' '));
    await fresh.page.getByRole('button', { name: 'Restore', exact: true }).click();
    await goesOn(fresh.page, bob.page, 'two');
    await fresh.context.close();
    assert.deepEqual(problems.flat(), []);
  });
});
