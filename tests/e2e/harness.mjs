// Shared helpers for the browser tests: a real relay process and Debian's Chromium.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const RELAY_BIN = process.env.PARLEY_RELAY_BIN;
export const DIST = process.env.PARLEY_DIST;
const TMP = process.env.PARLEY_TEST_TMP || os.tmpdir();

if (!RELAY_BIN || !DIST) {
  throw new Error('PARLEY_RELAY_BIN and PARLEY_DIST must be set (run through `make test`)');
}

export function tempDir(prefix) {
  return mkdtempSync(path.join(TMP, prefix));
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A new empty database on the throwaway PostgreSQL `make test` started. */
export function freshPgDatabase() {
  const url = process.env.PARLEY_TEST_POSTGRES_URL;
  if (!url) throw new Error('PARLEY_TEST_POSTGRES_URL must be set (run through `make test`)');
  const name = `e2e_${process.pid}_${Date.now()}`;
  execFileSync('psql', [url, '-q', '-c', `CREATE DATABASE ${name}`]);
  return url.replace(/\/[^/]*$/, `/${name}`);
}

/** Every row of a PostgreSQL database, as `pg_dump --data-only` prints it. */
export function dumpPg(url) {
  return execFileSync('pg_dump', ['--data-only', url], { maxBuffer: 256 << 20 }).toString('latin1');
}

async function waitHealthy(base, proc, logPath) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`relay exited: ${readFileSync(logPath, 'utf8')}`);
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error('relay did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `parley-relay serve` and resolves once /healthz answers. The
 * returned handle can SIGKILL it and start it again on the same port/data. */
export async function startRelay({ env = {}, staticDir = DIST } = {}) {
  const dir = tempDir('relay-');
  const port = await freePort();
  const logPath = path.join(dir, 'relay.log');
  const base = `http://127.0.0.1:${port}`;
  const spawnRelay = () => spawn(RELAY_BIN, ['serve'], {
    env: {
      PATH: process.env.PATH,
      PARLEY_BIND: `127.0.0.1:${port}`,
      PARLEY_DATA_DIR: path.join(dir, 'data'),
      PARLEY_STATIC_DIR: staticDir,
      // The development mailer logs codes at debug only.
      PARLEY_LOG: 'info,parley_relay::mail=debug',
      ...env,
    },
    stdio: ['ignore', 'ignore', openSync(logPath, 'a')],
  });
  let proc = spawnRelay();
  await waitHealthy(base, proc, logPath);
  return {
    base,
    dir,
    log: () => readFileSync(logPath, 'utf8'),
    /** SIGKILL: no shutdown at all. */
    async crash() {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    },
    async restart() {
      proc = spawnRelay();
      await waitHealthy(base, proc, logPath);
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** Debian's Chromium, headless, with the flags this machine needs. */
export async function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.PARLEY_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      ...extraArgs,
    ],
  });
}

/** Collects console errors and CSP violations of a page. */
export function watchPage(page) {
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  return problems;
}

/** A counter from the relay's `/metrics` (served to loopback clients); 0 if never recorded. */
export async function metric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** In the enclosing `describe`: a relay (`opts` as for startRelay) and a
 * browser, started before its tests and stopped after them, as
 * `handle.relay` and `handle.browser`. */
export function relayAndBrowser(opts) {
  const handle = {};
  before(async () => {
    handle.relay = await startRelay(opts);
    handle.browser = await launchBrowser();
  });
  after(async () => {
    await handle.browser?.close();
    await handle.relay?.stop();
  });
  return handle;
}
