// Scrolling in a long conversation (issue 18): new messages do not pull a
// reader who scrolled up; a "↓ N new messages" button counts them and
// takes the reader down (where they are read); a conversation opened with
// unread messages shows a divider above the first and starts there.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backHome, newUser, openConversation, outgoingStatus, pairByLink, send } from './app.mjs';
import { launchBrowser, startRelay, watchPage } from './harness.mjs';

const T = { timeout: 30_000 };

/** Waits until `page` shows `n` incoming messages. */
function incomingCount(page, n) {
  return page.waitForFunction((n) => document.querySelectorAll('.msg.in').length === n, n, T);
}

/** Lets the page handle scroll events (they are dispatched per frame). */
function frames(page) {
  return page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

const atBottom = (page) => page.evaluate(() => {
  const el = document.scrollingElement;
  return el.scrollHeight - el.scrollTop - el.clientHeight <= 48;
});

describe('scrolling a conversation', () => {
  let relay, browser;

  before(async () => {
    relay = await startRelay();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
  });

  test('a reader scrolled up keeps their place; the button counts new messages; reopening shows the unread divider', async () => {
    const alice = await newUser(browser, relay.base, 'Alice');
    const bob = await newUser(browser, relay.base, 'Bob');
    const problems = [watchPage(alice.page), watchPage(bob.page)];
    await pairByLink(alice, bob);

    for (let i = 1; i <= 40; i++) await send(bob.page, `Line ${i}`);
    await incomingCount(alice.page, 40);
    // Alice followed them to the end and read them.
    await outgoingStatus(bob.page, 'Line 40', 'read');
    await alice.page.waitForFunction(() => {
      const el = document.scrollingElement;
      return el.scrollHeight - el.scrollTop - el.clientHeight <= 48;
    }, null, T);

    // Alice scrolls up; Bob writes three more.
    await alice.page.evaluate(() => window.scrollTo(0, 300));
    await frames(alice.page);
    const place = await alice.page.evaluate(() => window.scrollY);
    assert.equal(place, 300);
    for (const t of ['Later 1', 'Later 2', 'Later 3']) await send(bob.page, t);
    await incomingCount(alice.page, 43);
    const button = alice.page.getByRole('button', { name: '3 new messages' });
    await button.waitFor(T);
    await frames(alice.page);
    assert.equal(await alice.page.evaluate(() => window.scrollY), place, 'the place is kept');
    assert.equal(await atBottom(alice.page), false);
    // Not seen yet, so not read.
    await outgoingStatus(bob.page, 'Later 3', 'delivered');
    assert.equal(await bob.page.locator('.msg.out[data-status="read"]', { hasText: 'Later' }).count(), 0);

    await button.click();
    assert.equal(await atBottom(alice.page), true, 'the button scrolls to the end');
    await alice.page.locator('.new-below').waitFor({ state: 'detached', ...T });
    await outgoingStatus(bob.page, 'Later 3', 'read');
    assert.equal(await alice.page.locator('.unread-divider').count(), 0, 'opened with nothing unread');

    // Alice leaves; Bob writes more than a screen; Alice comes back to a
    // divider above the first of those, at the top of the view, not at the end.
    await backHome(alice.page);
    for (let i = 1; i <= 20; i++) await send(bob.page, `After ${i}`);
    await alice.page.locator('.conversation', { hasText: 'After 20' }).waitFor(T);
    await openConversation(alice.page, 'Bob');
    const divider = alice.page.locator('.unread-divider');
    await divider.waitFor(T);
    assert.equal(await divider.textContent(), 'Unread messages');
    const around = await divider.evaluate((d) => ({
      before: d.previousElementSibling?.querySelector('.text')?.textContent,
      after: d.nextElementSibling?.querySelector('.text')?.textContent,
      top: d.getBoundingClientRect().top,
      bottom: d.getBoundingClientRect().bottom,
    }));
    assert.equal(around.before, 'Later 3');
    assert.equal(around.after, 'After 1');
    assert.ok(around.top >= 0 && around.top < 200, `divider at the top of the view: ${JSON.stringify(around)}`);
    assert.equal(await atBottom(alice.page), false);
    // Not at the end, so not read yet; the button takes Alice there.
    await alice.page.getByRole('button', { name: '20 new messages' }).click();
    await outgoingStatus(bob.page, 'After 20', 'read');
    assert.deepEqual(problems.flat(), [], problems.flat().join('\n'));
  });
});
