// Calls between two Chromium contexts with fake camera and microphone, media
// forced through the real coturn `make test` started (relay-only ICE with
// credentials from the relay), signaling end-to-end encrypted through the relay.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { PHONE, onboard, pairByLink } from './app.mjs';
import { launchBrowser, startRelay, watchPage } from './harness.mjs';

const T = { timeout: 30_000 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Records every RTCPeerConnection the app makes, so the test can read stats.
function recordPeerConnections() {
  const Orig = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Orig {
    constructor(...args) {
      super(...args);
      window.__pcs.push(this);
    }
  };
}

async function person(browser, base, name, setup) {
  const context = await browser.newContext(PHONE);
  await context.grantPermissions(['camera', 'microphone'], { origin: base });
  await context.addInitScript(recordPeerConnections);
  if (setup) await setup(context);
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(base + '/');
  await onboard(page, name);
  return { context, page, name, problems };
}

async function pair(a, b) {
  await pairByLink(a, b);
  // Calls need a session: the joiner's first message brings it to the inviter.
  await a.page.waitForSelector('button[aria-label="Video call"]:not([disabled])', T);
}

async function rtc(page) {
  return page.evaluate(async () => {
    const pc = window.__pcs.at(-1);
    if (!pc) return null;
    const all = {};
    (await pc.getStats()).forEach((r) => { all[r.id] = r; });
    const inbound = { audio: 0, video: 0 };
    let pair = null;
    for (const r of Object.values(all)) {
      if (r.type === 'inbound-rtp') inbound[r.kind] += r.bytesReceived || 0;
      if (r.type === 'transport' && r.selectedCandidatePairId) {
        const p = all[r.selectedCandidatePairId];
        pair = { local: all[p.localCandidateId]?.candidateType, remote: all[p.remoteCandidateId]?.candidateType };
      }
    }
    const senders = pc.getSenders().filter((s) => s.track).map((s) => ({
      kind: s.track.kind, maxBitrate: s.getParameters().encodings?.[0]?.maxBitrate ?? null,
    }));
    return {
      state: pc.connectionState,
      policy: pc.getConfiguration().iceTransportPolicy,
      inbound, pair, senders,
      tracks: pc.getReceivers().map((r) => `${r.track.kind}:${r.track.readyState}`).sort(),
    };
  });
}

describe('calls through coturn', () => {
  let relay, browser, alice, bob;

  before(async () => {
    const url = process.env.PARLEY_TEST_TURN_URL;
    const secret = process.env.PARLEY_TEST_TURN_SECRET;
    if (!url || !secret) throw new Error('PARLEY_TEST_TURN_URL/SECRET must be set (run through `make test`)');
    relay = await startRelay({
      env: { PARLEY_TURN_URLS: url, PARLEY_TURN_SECRET: secret, PARLEY_TURN_RELAY_ONLY: 'true', PARLEY_TURN_TTL_SECS: '600' },
    });
    browser = await launchBrowser();
    alice = await person(browser, relay.base, 'Alice');
    bob = await person(browser, relay.base, 'Bob');
    await pair(alice, bob);
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
  });

  test('video call over a TURN relay: audio and video arrive, bytes grow, hang-up ends both sides', async () => {
    await alice.page.getByRole('button', { name: 'Video call' }).click();
    await alice.page.waitForSelector('.call[data-state="outgoing"]', T);
    await bob.page.waitForSelector('.call[data-state="incoming"]', T);
    assert.match(await bob.page.textContent('.call-status'), /Incoming video call/);
    await bob.page.getByRole('button', { name: 'Accept' }).click();
    await alice.page.waitForSelector('.call[data-state="connected"]', T);
    await bob.page.waitForSelector('.call[data-state="connected"]', T);

    const first = await rtc(bob.page);
    assert.equal(first.policy, 'relay', 'relay-only ICE from the relay\'s TURN settings');
    assert.deepEqual(first.tracks, ['audio:live', 'video:live']);
    await sleep(2000);
    const later = await rtc(bob.page);
    assert.ok(later.inbound.audio > first.inbound.audio, `audio bytes grow: ${JSON.stringify([first.inbound, later.inbound])}`);
    assert.ok(later.inbound.video > first.inbound.video, 'video bytes grow');
    assert.deepEqual(later.pair, { local: 'relay', remote: 'relay' }, 'media goes through coturn');
    const a = await rtc(alice.page);
    assert.equal(a.pair.local, 'relay');
    // The remote video element plays the stream.
    await bob.page.waitForFunction(() => document.getElementById('remote-media')?.videoWidth > 0, null, T);
    assert.match(await alice.page.textContent('.call-status'), /^\d\d:\d\d$/);

    await alice.page.getByRole('button', { name: 'Hang up' }).click();
    await alice.page.waitForSelector('.call[data-state="ended"]', T);
    await bob.page.waitForSelector('.call[data-state="ended"]', T);
    assert.match(await bob.page.textContent('.call-status'), /Call ended/);
    assert.equal((await rtc(bob.page)).state, 'closed');
    for (const u of [alice, bob]) await u.page.getByRole('button', { name: 'Close' }).click();
  });

  test('the bandwidth mode sets the senders\' maxBitrate', async () => {
    await bob.page.getByRole('button', { name: 'Video call' }).click();
    await alice.page.waitForSelector('.call[data-state="incoming"]', T);
    await alice.page.getByRole('button', { name: 'Accept' }).click();
    await bob.page.waitForSelector('.call[data-state="connected"]', T);
    const rates = async () => Object.fromEntries((await rtc(bob.page)).senders.map((s) => [s.kind, s.maxBitrate]));
    for (const [mode, audio, video] of [['low', 24_000, 101_000], ['high', 64_000, 1_936_000], ['normal', 32_000, 268_000]]) {
      await bob.page.getByLabel('Call quality').selectOption(mode);
      const deadline = Date.now() + 10_000;
      let got;
      while (Date.now() < deadline) {
        got = await rates();
        if (got.audio === audio && got.video === video) break;
        await sleep(100);
      }
      assert.deepEqual(got, { audio, video }, `mode ${mode}`);
    }
    // Mute and camera off act on the local tracks.
    await bob.page.getByRole('button', { name: 'Mute' }).click();
    await bob.page.getByRole('button', { name: 'Turn camera off' }).click();
    const enabled = await bob.page.evaluate(() => window.__pcs.at(-1).getSenders().map((s) => `${s.track.kind}:${s.track.enabled}`).sort());
    assert.deepEqual(enabled, ['audio:false', 'video:false']);
    await bob.page.getByRole('button', { name: 'Hang up' }).click();
    await alice.page.waitForSelector('.call[data-state="ended"]', T);
    for (const u of [alice, bob]) await u.page.getByRole('button', { name: 'Close' }).click();
  });

  test('a dropped connection is treated as recoverable: the caller restarts ICE and the call carries on', async () => {
    const pidfile = process.env.PARLEY_TEST_TURN_PIDFILE;
    assert.ok(pidfile, 'PARLEY_TEST_TURN_PIDFILE must be set (run through `make test`)');
    const turnPid = Number(readFileSync(pidfile, 'utf8').trim());
    await alice.page.getByRole('button', { name: 'Audio call' }).click();
    await bob.page.waitForSelector('.call[data-state="incoming"]', T);
    await bob.page.getByRole('button', { name: 'Accept' }).click();
    await alice.page.waitForSelector('.call[data-state="connected"]', T);
    const ufrag = () => alice.page.evaluate(() => window.__pcs.at(-1).localDescription.sdp.match(/a=ice-ufrag:(\S+)/)[1]);
    const before = await ufrag();
    // Freeze coturn: every media path is relayed, so the connection drops.
    process.kill(turnPid, 'SIGSTOP');
    try {
      await alice.page.waitForSelector('.call[data-state="reconnecting"]', { timeout: 45_000 });
    } finally {
      process.kill(turnPid, 'SIGCONT');
    }
    await alice.page.waitForSelector('.call[data-state="connected"]', { timeout: 45_000 });
    assert.notEqual(await ufrag(), before, 'an ICE restart (new credentials) took place');
    const s = await rtc(bob.page);
    await sleep(1500);
    assert.ok((await rtc(bob.page)).inbound.audio > s.inbound.audio, 'audio flows again');
    await alice.page.getByRole('button', { name: 'Hang up' }).click();
    await bob.page.waitForSelector('.call[data-state="ended"]', T);
    for (const u of [alice, bob]) await u.page.getByRole('button', { name: 'Close' }).click();
  });

  test('a signal modified in transit is rejected and the call does not connect', async () => {
    let tamper = false;
    const frank = await person(browser, relay.base, 'Frank', async (context) => {
      // A relay in the middle: flips one ciphertext byte of every envelope
      // delivered to Frank while `tamper` is on.
      await context.routeWebSocket(/\/api\/v1\/ws$/, (ws) => {
        const server = ws.connectToServer();
        ws.onMessage((m) => server.send(m));
        server.onMessage((m) => {
          if (tamper && typeof m !== 'string' && m[1] === 2) {
            const b = Buffer.from(m);
            b[b.length - 20] ^= 0x40;
            ws.send(b);
          } else {
            ws.send(m);
          }
        });
      });
    });
    await alice.page.getByRole('button', { name: 'Back to conversations' }).click();
    await pair(alice, frank);
    tamper = true;
    await alice.page.getByRole('button', { name: 'Video call' }).click();
    await alice.page.waitForSelector('.call[data-state="outgoing"]', T);
    await frank.page.locator('.notice', { hasText: 'could not be decrypted' }).first().waitFor(T);
    await sleep(3000);
    assert.equal(await frank.page.locator('.call').count(), 0, 'no incoming call from a forged offer');
    assert.equal(await alice.page.getAttribute('.call', 'data-state'), 'outgoing', 'never connected');
    await alice.page.getByRole('button', { name: 'Hang up' }).click();
    await alice.page.getByRole('button', { name: 'Close' }).click();
    tamper = false;
    await frank.context.close();
  });

  test('presence flips to offline within seconds after the peer\'s page closes', async () => {
    await alice.page.getByRole('button', { name: 'Back to conversations' }).click();
    const row = alice.page.locator('.conversation', { hasText: 'Bob' }).locator('.presence');
    await alice.page.waitForFunction(() => [...document.querySelectorAll('.conversation')]
      .some((c) => c.textContent.includes('Bob') && c.querySelector('.presence[data-online="true"]')), null, T);
    const closed = Date.now();
    await bob.page.close();
    await alice.page.waitForFunction(() => [...document.querySelectorAll('.conversation')]
      .some((c) => c.textContent.includes('Bob') && c.querySelector('.presence[data-online="false"]')), null, { timeout: 5000 });
    const took = Date.now() - closed;
    assert.equal(await row.textContent(), 'offline');
    assert.ok(took < 5000, `offline after ${took} ms`);
    const unexpected = [alice, bob].flatMap((u) => u.problems).filter((p) => !/Failed to load resource/.test(p));
    assert.deepEqual(unexpected, [], unexpected.join('\n'));
  });
});
