// The app in Russian and English: the language follows the browser (a
// `ru-RU` and an `en-US` context), plural forms and dates come out right in
// each, a page fetches only its language's texts, and a language chosen in
// Settings replaces the browser's and survives a reload (or, when its texts
// cannot be fetched, says so and changes nothing; and when no texts come at
// start, a notice in both languages with a reload).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  PHONE, details, inChatWith, joinWithLink, onboard, send,
} from './app.mjs';
import { launchBrowser, startRelay, watchPage } from './harness.mjs';

const T = { timeout: 20_000 };

const RU_MONTHS = 'января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря';
const EN_MONTHS = 'January|February|March|April|May|June|July|August|September|October|November|December';

/** What `Intl` in the page makes of `<time datetime>` with `options`. */
function intl(page, locale, iso, options) {
  return page.evaluate(
    ([l, i, o]) => new Intl.DateTimeFormat(l, o).format(new Date(i)), [locale, iso, options],
  );
}

/** Checks a `<time>`: its text is the local time, its title the full date. */
async function checkTime(page, time, locale, months) {
  const iso = await time.getAttribute('datetime');
  assert.ok(iso, 'a machine-readable datetime');
  assert.equal((await time.textContent()).trim(),
    await intl(page, locale, iso, { timeStyle: 'short' }));
  const title = await time.getAttribute('title');
  assert.equal(title, await intl(page, locale, iso, { dateStyle: 'long', timeStyle: 'short' }));
  assert.match(title, new RegExp(`(${months})`));
  return title;
}

/** The translations a page requests from now on, by language tag, in order
 * (the service worker's precaching of the build's files aside). */
function translations(page) {
  const tags = [];
  page.on('request', (r) => {
    const m = /\/([a-z]+)-[0-9a-f]{16}\.ftl$/.exec(r.url());
    if (m && !r.serviceWorker()) tags.push(m[1]);
  });
  return tags;
}

describe('Russian and English', () => {
  let relay, browser, alice, bob;
  const problems = [];

  before(async () => {
    relay = await startRelay();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
    assert.deepEqual(problems.flat(), []);
  });

  test('a ru-RU browser gets Russian, an en-US one English: plurals, notices, dates', async () => {
    // Алиса: a Russian browser, onboarded through the Russian screens.
    const ru = await browser.newContext({ ...PHONE, locale: 'ru-RU' });
    alice = await ru.newPage();
    problems.push(watchPage(alice));
    const ruFetched = translations(alice);
    await alice.goto(relay.base + '/');
    await alice.waitForSelector('main[data-screen="onboarding"]', T);
    assert.equal(await alice.getAttribute('html', 'lang'), 'ru');
    // Only the language shown was fetched (ADR 0033).
    assert.deepEqual(ruFetched, ['ru']);
    await alice.getByRole('heading', { name: 'Создайте свою личность' }).waitFor(T);
    await alice.getByLabel('Ваше имя').fill('Алиса');
    await alice.locator('.relay-status[data-state="ready"]', { hasText: 'Ретранслятор в сети' }).waitFor(T);
    await alice.getByRole('button', { name: 'Создать мою личность' }).click();
    await alice.waitForSelector('main[data-screen="home"]', T);
    await alice.locator('.conn[data-state="online"]', { hasText: 'Подключено' }).waitFor(T);

    // Bob: an English browser.
    const en = await browser.newContext({ ...PHONE, locale: 'en-US' });
    const bobPage = await en.newPage();
    problems.push(watchPage(bobPage));
    const enFetched = translations(bobPage);
    await bobPage.goto(relay.base + '/');
    await onboard(bobPage, 'Bob', undefined, false);
    assert.equal(await bobPage.getAttribute('html', 'lang'), 'en');
    assert.deepEqual(enFetched, ['en']);
    bob = { context: en, page: bobPage };

    await alice.getByRole('button', { name: 'Пригласить' }).click();
    await alice.waitForSelector('#invite-link', T);
    assert.match(await alice.textContent('.expiry'), /^Истекает через (9|10):\d\d$/);
    await joinWithLink(bob.page, await alice.inputValue('#invite-link'));
    await inChatWith(alice, 'Bob');
    await inChatWith(bob.page, 'Алиса');
    await alice.locator('.notice', { hasText: 'Связь с Bob установлена. Сообщения защищены сквозным шифрованием.' }).waitFor(T);
    await bob.page.locator('.notice', { hasText: 'You paired with Алиса.' }).waitFor(T);

    // Unread counts in the list, in Russian plural forms (one, few, many).
    await alice.getByRole('button', { name: 'Назад к разговорам' }).click();
    await alice.waitForSelector('main[data-screen="home"]', T);
    const unread = alice.locator('.conversation .unread');
    const expect = async (n, label) => {
      await alice.locator('.conversation .unread', { hasText: new RegExp(`^${n}$`) }).waitFor(T);
      assert.equal(await unread.getAttribute('aria-label'), label);
    };
    await send(bob.page, 'one');
    await expect(1, '1 непрочитанное сообщение');
    await send(bob.page, 'two');
    await expect(2, '2 непрочитанных сообщения');
    for (const m of ['three', 'four', 'five']) await send(bob.page, m);
    await expect(5, '5 непрочитанных сообщений');

    // The last activity, and each message's time, in Russian.
    const listTitle = await checkTime(alice, alice.locator('.conversation time'), 'ru-RU', RU_MONTHS);
    assert.match(listTitle, new RegExp(`^\\d{1,2} (${RU_MONTHS}) \\d{4}`));
    await alice.locator('.conversation', { hasText: 'Bob' }).click();
    await inChatWith(alice, 'Bob');
    const aliceSees = alice.locator('.msg.in', { hasText: 'five' }).locator('time');
    await checkTime(alice, aliceSees, 'ru-RU', RU_MONTHS);
    assert.match((await aliceSees.textContent()).trim(), /^\d{2}:\d{2}$/, '24-hour clock');

    // Messages are grouped by day, the heading in each language.
    await alice.locator('.messages li.day', { hasText: 'Сегодня' }).waitFor(T);
    await bob.page.locator('.messages li.day', { hasText: 'Today' }).waitFor(T);

    // And in English on Bob's side.
    const bobSees = bob.page.locator('.msg.out', { hasText: 'five' }).locator('time');
    const enTitle = await checkTime(bob.page, bobSees, 'en-US', EN_MONTHS);
    assert.match(enTitle, new RegExp(`^(${EN_MONTHS}) \\d{1,2}, \\d{4}`));
    assert.match((await bobSees.textContent()).trim(), /^\d{1,2}:\d{2}\s?(AM|PM)$/, '12-hour clock');

    // A timer notice with a length of time, on each side in its language,
    // and a countdown in words.
    await details(alice);
    await alice.getByLabel('Исчезающие сообщения').selectOption('30');
    await alice.locator('.notice', { hasText: 'Вы включили исчезновение сообщений через 30 секунд.' }).waitFor(T);
    await bob.page.locator('.notice', { hasText: 'Алиса set messages to disappear after 30 seconds.' }).waitFor(T);
    await send(bob.page, 'gone soon');
    const countdown = alice.locator('.msg.in', { hasText: 'gone soon' }).locator('.timer');
    await countdown.waitFor(T);
    assert.match(await countdown.textContent(), /^исчезнет через \d+\u00a0с$/);
    await alice.getByLabel('Исчезающие сообщения').selectOption('0');
    await bob.page.locator('.notice', { hasText: 'Алиса turned off disappearing messages.' }).waitFor(T);
  });

  test('a language chosen in Settings replaces the browser\'s and survives a reload', async () => {
    const page = bob.page;
    await page.getByRole('button', { name: 'Back to conversations' }).click();
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Language' }).waitFor(T);
    await page.getByLabel('Language').selectOption('ru');
    await page.getByRole('heading', { name: 'Настройки' }).waitFor(T);
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    assert.equal(await page.locator('select[name="language"]').inputValue(), 'ru');

    await page.reload();
    await page.waitForSelector('main[data-screen="home"]', T);
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    await page.getByRole('button', { name: 'Пригласить' }).waitFor(T);
    assert.equal(await page.locator('.conversation .unread').count(), 0);
    await page.locator('.conversation .presence', { hasText: /^(в сети|не в сети)$/ }).waitFor(T);

    // Back to English, which the next reload keeps too.
    await page.getByRole('button', { name: 'Настройки' }).click();
    await page.getByLabel('Язык').selectOption('en');
    await page.getByRole('heading', { name: 'Settings' }).waitFor(T);
    await page.reload();
    await page.waitForSelector('main[data-screen="home"]', T);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.getByRole('button', { name: 'Invite someone' }).waitFor(T);
  });

  test('a language whose texts cannot be fetched is an error, and the app stays as it was', async () => {
    // A fresh page without a service worker: the relay is unreachable for
    // the Russian texts, which this page has not loaded yet.
    const context = await browser.newContext({ ...PHONE, locale: 'en-US', serviceWorkers: 'block' });
    const page = await context.newPage();
    const seen = watchPage(page);
    await page.goto(relay.base + '/');
    await onboard(page, 'Cleo', undefined, false);
    const block = (route) => route.abort('internetdisconnected');
    await context.route(/\/ru-[0-9a-f]{16}\.ftl$/, block);
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Language').selectOption('ru');
    await page.getByRole('alert').filter({ hasText: 'Русский could not be loaded' }).waitFor(T);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.locator('select[name="language"]').inputValue(), 'en');
    await page.getByRole('heading', { name: 'Settings' }).waitFor(T);
    // Nothing was stored: a reload is still in English.
    assert.equal(await page.evaluate(() => localStorage.getItem('parley.lang')), null);

    // Reachable again, the same choice works.
    await context.unroute(/\/ru-[0-9a-f]{16}\.ftl$/, block);
    await page.getByLabel('Language').selectOption('ru');
    await page.getByRole('heading', { name: 'Настройки' }).waitFor(T);
    assert.equal(await page.getAttribute('html', 'lang'), 'ru');
    // The blocked fetch is the browser's own console line; nothing else is.
    assert.deepEqual(seen.filter((p) => !/net::ERR_INTERNET_DISCONNECTED/.test(p)), []);
    await context.close();
  });
  test('texts that cannot be fetched at start are a bilingual notice with a reload, not keys', async () => {
    const context = await browser.newContext({ ...PHONE, locale: 'en-US', serviceWorkers: 'block' });
    const page = await context.newPage();
    const seen = watchPage(page);
    const block = (route) => route.abort('internetdisconnected');
    let tries = 0;
    await context.route(/\/[a-z]+-[0-9a-f]{16}\.ftl$/, (route) => { tries += 1; return block(route); });
    await page.goto(relay.base + '/');
    const notice = page.locator('main[data-screen="unloaded"]');
    await notice.waitFor(T);
    assert.equal(tries, 3, 'three tries before giving up');
    assert.match(await notice.locator('p[lang="en"]').textContent(), /could not load its texts/);
    assert.match(await notice.locator('p[lang="ru"]').textContent(), /не удалось загрузить/);
    assert.equal(await page.locator('main[data-screen="onboarding"]').count(), 0, 'the app did not mount');

    // Reachable again, the reload starts the app.
    await context.unroute(/\/[a-z]+-[0-9a-f]{16}\.ftl$/);
    await page.getByRole('button', { name: /Reload/ }).click();
    await page.waitForSelector('main[data-screen="onboarding"]', T);
    await page.getByLabel('Your name').waitFor(T);
    // The blocked fetches and the app's own report of giving up; nothing else.
    assert.deepEqual(seen.filter((p) => !/net::ERR_INTERNET_DISCONNECTED|texts not loaded/.test(p)), []);
    await context.close();
  });
});
