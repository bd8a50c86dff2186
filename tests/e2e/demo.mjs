// `make demo`: two real browsers side by side on a real relay go through
// pairing by PIN, a short chat and a file with a visible deletion timer; the
// frames become docs/demo.gif (ffmpeg, in scripts/demo.sh), and the same run
// takes the screenshots in docs/screenshots in English and Russian.
// Not a test: it asserts only what it needs to go on.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  backHome, incoming, inChatWith, joinWithPin, newUser, openJoin, outgoingStatus, PHONE, screenshot,
  send, showInvite,
} from './app.mjs';
import { launchBrowser, startRelay } from './harness.mjs';

const T = { timeout: 30_000 };
const out = process.env.PARLEY_DEMO_DIR;
const shots = process.env.PARLEY_SCREENSHOTS;
if (!out || !shots) throw new Error('PARLEY_DEMO_DIR and PARLEY_SCREENSHOTS must name directories');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
mkdirSync(shots, { recursive: true });

const relay = await startRelay();
const browser = await launchBrowser();
const frames = [];
let stage;

/** One frame of the GIF: both phones side by side under a caption, shown
 * for `secs`. Composed by the browser itself (no image tool needed here). */
async function frame(caption, secs, left, right) {
  const [a, b] = await Promise.all([left.page.screenshot(), right.page.screenshot()]);
  const img = (buf) => `data:image/png;base64,${buf.toString('base64')}`;
  await stage.setContent(`<!doctype html><html><body style="margin:0;background:#e7eef0;font:600 22px system-ui,sans-serif;color:#14282d">
    <div style="display:flex;flex-direction:column;align-items:center;gap:10px;padding:12px">
      <div style="height:30px">${caption}</div>
      <div style="display:flex;gap:20px">
        <figure style="margin:0;text-align:center"><img src="${img(a)}" style="width:390px;border-radius:14px;box-shadow:0 2px 8px #0003"><figcaption>${left.name}</figcaption></figure>
        <figure style="margin:0;text-align:center"><img src="${img(b)}" style="width:390px;border-radius:14px;box-shadow:0 2px 8px #0003"><figcaption>${right.name}</figcaption></figure>
      </div></div></body></html>`);
  const file = path.join(out, `f${String(frames.length).padStart(3, '0')}.png`);
  await stage.screenshot({ path: file, fullPage: true });
  frames.push({ file, secs });
}

try {
  stage = await (await browser.newContext({ viewport: { width: 840, height: 960 } })).newPage();
  const alice = await newUser(browser, relay.base, 'Alice');
  // The same onboarding as the tests, which takes the screenshot on its way.
  const bob = await newUser(browser, relay.base, 'Bob', 'onboarding');
  await frame('Two people open Parley: each identity is made in the browser', 2, alice, bob);

  const { pin } = await showInvite(alice.page, { pin: true });
  await screenshot(alice.page, 'invite');
  await openJoin(bob.page);
  await bob.page.getByLabel('PIN shown on the other screen').fill(pin);
  await frame('Alice shows a PIN, Bob types it', 2.5, alice, bob);
  await joinWithPin(bob.page, pin);
  await inChatWith(bob.page, 'Alice');
  await inChatWith(alice.page, 'Bob');
  await frame('Paired: keys agreed end to end, the relay never saw them', 2.5, alice, bob);

  const chat = [
    [alice, bob, 'Hi Bob! This is end-to-end encrypted.'],
    [bob, alice, 'Hi Alice, I can read it, the relay cannot.'],
    [alice, bob, 'Here is the plan for Saturday.'],
  ];
  for (const [from, to, text] of chat) {
    await send(from.page, text);
    await incoming(to.page, text);
    await outgoingStatus(from.page, text, 'read').catch(() => {});
    await frame('A short chat, with delivery and read states', 1.6, alice, bob);
  }
  await screenshot(alice.page, 'chat');

  // A file that deletes itself: the lifetime is chosen when attaching.
  await alice.page.locator('input[type="file"]').setInputFiles({
    name: 'saturday-plan.txt', mimeType: 'text/plain', buffer: Buffer.from('10:00 station, 10:30 train, bring snacks.\n'),
  });
  const sheet = alice.page.getByRole('dialog', { name: 'Send a file' });
  await sheet.waitFor(T);
  // The shortest lifetime, so the countdown moves in the clip.
  await sheet.getByLabel('File lifetime').selectOption({ index: 0 });
  await sheet.getByLabel('or as soon as it is downloaded').uncheck();
  await frame('A file, encrypted in the browser, with a lifetime', 2.5, alice, bob);
  await sheet.getByRole('button', { name: 'Send file' }).click();
  const bubble = (p) => p.locator('.msg.file', { hasText: 'saturday-plan.txt' });
  await bubble(bob.page).getByRole('button', { name: 'Accept and download' }).click();
  await bubble(bob.page).locator('.file-timer').waitFor(T);
  await bubble(alice.page).locator('.file-timer').waitFor(T);
  await alice.page.waitForFunction(
    () => !/Waiting/.test(document.querySelector('.msg.file')?.textContent ?? 'Waiting'), null, T,
  );
  for (let i = 0; i < 4; i++) {
    await frame('Both sides count down to its deletion from the relay', 1.5, alice, bob);
    await new Promise((r) => setTimeout(r, 1_500));
  }

  await backHome(bob.page);
  await screenshot(bob.page, 'conversations');

  // The same conversation in Russian (the language chosen in Settings).
  for (const p of [alice.page, bob.page]) {
    await p.evaluate(() => localStorage.setItem('parley.lang', 'ru'));
    await p.reload();
  }
  await bob.page.waitForSelector('main[data-screen="home"]', T);
  await screenshot(bob.page, 'conversations-ru');
  await alice.page.waitForSelector('main[data-screen="home"]', T);
  await alice.page.locator('.conversation', { hasText: 'Bob' }).click();
  await alice.page.waitForSelector('main[data-screen="chat"]', T);
  await incoming(alice.page, 'Hi Alice');
  await screenshot(alice.page, 'chat-ru');
  const ru = await (await browser.newContext({ ...PHONE, locale: 'ru-RU' })).newPage();
  await ru.goto(relay.base + '/');
  await ru.waitForSelector('main[data-screen="onboarding"]', T);
  await ru.waitForSelector('.relay-status[data-state="ready"]', T);
  await screenshot(ru, 'onboarding-ru');

  // ffmpeg's concat list: each frame with its duration (the last one twice,
  // as the format wants).
  const list = frames.map((f) => `file '${f.file}'\nduration ${f.secs}\n`).join('')
    + `file '${frames[frames.length - 1].file}'\n`;
  writeFileSync(path.join(out, 'frames.txt'), list);
  console.log(`demo: ${frames.length} frames`);
} finally {
  await browser.close();
  await relay.stop();
}
