// Onboarding against a relay that requires an emailed code (development
// mailer: the code is written to the relay's log, read here like an inbox).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PHONE } from './app.mjs';
import { relayAndBrowser, watchPage } from './harness.mjs';

const T = { timeout: 20_000 };

describe('onboarding with email-OTP registration', () => {
  const env = relayAndBrowser({ env: { PARLEY_REGISTRATION: 'email-otp', PARLEY_SMTP_URL: 'log' } });

  async function mailedCode(email) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const line = env.relay.log().split('\n').reverse().find((l) => l.includes('registration code') && l.includes(email));
      const code = line?.match(/code="?(\d{6})/)?.[1];
      if (code) return code;
      if (Date.now() > deadline) throw new Error(`no code for ${email} in the relay log`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  test('asks for an email code, refuses a wrong one, accepts the mailed one', async () => {
    const context = await env.browser.newContext(PHONE);
    const page = await context.newPage();
    const problems = watchPage(page);
    await page.goto(env.relay.base + '/');
    await page.waitForSelector('main[data-screen="onboarding"]', T);
    await page.getByLabel('Your name').fill('Erin');
    await page.getByLabel('Email address (this relay asks for one)').fill('erin@example.org');
    await page.getByRole('button', { name: 'Email me a code' }).click();
    await page.locator('[role="status"]', { hasText: 'A 6-digit code is on its way' }).waitFor(T);
    const code = await mailedCode('erin@example.org');

    const wrong = code === '000000' ? '111111' : '000000';
    await page.getByLabel('Code from the email').fill(wrong);
    await page.getByRole('button', { name: 'Create my identity' }).click();
    await page.locator('.error[role="alert"]', { hasText: 'wrong registration code' }).waitFor(T);
    assert.equal(await page.locator('main[data-screen="onboarding"]').count(), 1);

    await page.getByLabel('Code from the email').fill(code);
    await page.getByRole('button', { name: 'Create my identity' }).click();
    await page.waitForSelector('main[data-screen="home"]', T);
    await page.waitForSelector('.conn[data-state="online"]', T);
    assert.equal(await page.textContent('.my-name'), 'Erin');
    const unexpected = problems.filter((p) => !/Failed to load resource/.test(p));
    assert.deepEqual(unexpected, [], unexpected.join('\n'));
    await context.close();
  });
});

describe('onboarding before the relay said which gate it has', () => {
  const env = relayAndBrowser();

  // The form asks the relay for its gate as it shows; a quick hand (or the
  // keyboard test under load) can submit first. That submit must create
  // the identity, not refuse with "cannot be reached yet".
  test('a submit while the first /info is unanswered still creates the identity', async () => {
    // Requests a service worker handles are not routed: keep it out.
    const context = await env.browser.newContext({ ...PHONE, serviceWorkers: 'block' });
    const page = await context.newPage();
    const problems = watchPage(page);
    let held, heldCount = 0;
    await page.route('**/api/v1/info', (route) => {
      heldCount += 1;
      if (held === undefined) held = route; else route.continue();
    });
    try {
      await page.goto(env.relay.base + '/');
      await page.waitForSelector('main[data-screen="onboarding"]', T);
      for (let i = 0; held === undefined && i < 100; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(held, 'the form asked for /info as it showed');
      await page.getByLabel('Your name').fill('Quinn');
      await page.getByRole('button', { name: 'Create my identity' }).click();
      await page.waitForSelector('main[data-screen="home"]', T);
      assert.equal(await page.textContent('.my-name'), 'Quinn');
      assert.ok(heldCount >= 2, 'the submit asked again');
    } finally {
      await held?.continue().catch(() => {});
    }
    const unexpected = problems.filter((p) => !/Failed to load resource/.test(p));
    assert.deepEqual(unexpected, [], unexpected.join('\n'));
    await context.close();
  });
});
