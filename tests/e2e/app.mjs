// Page-level helpers for driving the Parley app like a person would.
import assert from 'node:assert/strict';

export const PHONE = { viewport: { width: 390, height: 844 } };
const T = { timeout: 20_000 };

/** A new browser context (own IndexedDB) with a registered identity. */
export async function newUser(browser, base, name, shot) {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.goto(base + '/');
  await onboard(page, name, shot);
  return { context, page, name };
}

/** Screenshots for docs/ when PARLEY_SCREENSHOTS names a directory. */
export async function screenshot(page, name) {
  const dir = process.env.PARLEY_SCREENSHOTS;
  if (dir) await page.screenshot({ path: `${dir}/${name}.png` });
}

/** Creates an identity. Presence is turned on (as the tests of presence,
 * typing and calls expect) unless `presence` is false. */
export async function onboard(page, name, shot, presence = true) {
  await page.waitForSelector('main[data-screen="onboarding"]', T);
  await page.getByLabel('Your name').fill(name);
  await page.waitForSelector('.relay-status[data-state="ready"]', T);
  if (shot) await screenshot(page, shot);
  await page.getByRole('button', { name: 'Create my identity' }).click();
  await page.waitForSelector('main[data-screen="home"]', T);
  await page.waitForSelector('.conn[data-state="online"]', T);
  if (presence) await setPresence(page, true);
}

/** Turns "Show when I am online" on or off in Settings (off by default). */
export async function setPresence(page, on) {
  await page.getByRole('button', { name: 'Settings' }).click();
  const box = page.getByLabel('Show when I am online');
  if (on) await box.check(); else await box.uncheck();
  await backHome(page);
}

/**
 * Opens "Invite someone" and returns what it shows: the link (the QR code's
 * content) and, with `{ pin: true }`, a PIN asked for with "Show a PIN
 * instead". An invite shows no PIN until asked (ADR 0010).
 */
export async function showInvite(page, { pin = false } = {}) {
  await page.getByRole('button', { name: 'Invite someone' }).click();
  await page.waitForSelector('#invite-link', T);
  const link = await page.inputValue('#invite-link');
  assert.match(link, /#pair=/);
  assert.match(await page.textContent('.expiry'), /Expires in (9|10):\d\d/);
  assert.equal(await page.locator('.pin').count(), 0, 'no PIN until asked for');
  return pin ? { link, pin: await showPin(page) } : { link };
}

/** Asks the open invite for a PIN and returns it (`NNNN-NNNNNN`). */
export async function showPin(page) {
  await page.getByRole('button', { name: 'Show a PIN instead' }).click();
  await page.waitForSelector('.pin', T);
  const pin = (await page.textContent('.pin')).trim();
  assert.match(pin, /^\d{4}-\d{6}$/);
  return pin;
}

export async function openJoin(page) {
  await page.getByRole('button', { name: 'Join an invite' }).click();
  await page.waitForSelector('main[data-screen="join"]', T);
}

export async function joinWithLink(page, link) {
  await openJoin(page);
  await page.getByLabel('Invite link').fill(link);
  await page.getByRole('button', { name: 'Join with link' }).click();
}

export async function joinWithPin(page, pin) {
  await page.getByLabel('PIN shown on the other screen').fill(pin);
  await page.getByRole('button', { name: 'Join with PIN' }).click();
}

/** Waits until the page shows the conversation with `peerName`. */
/** `inviter` shows an invite link, `joiner` joins with it; both end up in
 * their conversation (users as `newUser` returns them). */
export async function pairByLink(inviter, joiner) {
  const { link } = await showInvite(inviter.page);
  await joinWithLink(joiner.page, link);
  await inChatWith(joiner.page, inviter.name);
  await inChatWith(inviter.page, joiner.name);
}

export async function inChatWith(page, peerName) {
  await page.waitForSelector('main[data-screen="chat"]', T);
  await page.waitForFunction(
    (n) => document.querySelector('.peer-name')?.textContent === n, peerName, T,
  );
}

export async function send(page, text) {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.keyboard.press('Enter');
}

/** Waits for an outgoing message with `text` to reach `status`. */
export async function outgoingStatus(page, text, status) {
  await page.locator(`.msg.out[data-status="${status}"]`, { hasText: text }).waitFor(T);
}

export async function incoming(page, text) {
  await page.locator('.msg.in', { hasText: text }).waitFor(T);
}

export async function countIncoming(page, text) {
  return page.locator('.msg.in .text', { hasText: new RegExp(`^${text}$`) }).count();
}

export async function openConversation(page, peerName) {
  await page.locator('.conversation', { hasText: peerName }).click();
  await inChatWith(page, peerName);
}

export async function backHome(page) {
  await page.getByRole('button', { name: 'Back to conversations' }).click();
  await page.waitForSelector('main[data-screen="home"]', T);
}

/**
 * The identity secret of the app in `page`, read the way the app does:
 * the `account` record from IndexedDB, opened with the non-extractable
 * WebCrypto key. Returns hex of the Ed25519 and X25519 secrets.
 */
export async function identitySecrets(page) {
  return page.evaluate(async () => {
    const db = await new Promise((res, rej) => {
      const r = indexedDB.open('parley');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const get = (store, key) => new Promise((res, rej) => {
      const r = db.transaction(store).objectStore(store).get(key);
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const key = await get('meta', 'wrap');
    const sealed = await get('records', 'account');
    const plain = new Uint8Array(await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: sealed.slice(0, 12), additionalData: new TextEncoder().encode('account') },
      key, sealed.slice(12)));
    // record version, len 67, identity: version, len 32, signing, len 32, dh
    if (plain[0] !== 1 || plain[1] !== 67 || plain[3] !== 32 || plain[36] !== 32) throw new Error('layout');
    const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return {
      extractable: key.extractable,
      sealedHasName: new TextDecoder('latin1').decode(sealed).includes('Alice'),
      secrets: [hex(plain.slice(4, 36)), hex(plain.slice(37, 69))],
    };
  });
}

/** Opens the conversation's details (safety number, timer, delete). */
export async function details(page) {
  // By what it controls, so the helper works in every language.
  const button = page.locator('button[aria-controls="conversation-details"]');
  if ((await button.getAttribute('aria-expanded')) !== 'true') await button.click();
}
