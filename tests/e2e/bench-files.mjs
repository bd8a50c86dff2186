// Benchmark, not a test (`make bench`; numbers go to docs/benchmarks.md):
// the app's own file worker encrypts a 256 MiB file, as the app does when a
// file is sent. Reports throughput, the longest stall of the page's thread
// while it runs, and the peak resident memory of Chromium's processes
// above the baseline. The file is a real 256 MiB file on disk, picked
// through an <input type=file> like a user would.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { launchBrowser, startRelay, tempDir } from './harness.mjs';

const MIB = 1024 * 1024;
const SIZE_MIB = Number(process.env.PARLEY_BENCH_MIB || 256);

/** Resident memory of Chromium's renderer processes (the page and its
 * worker) and of all its other processes (the browser process keeps Blob
 * data), bytes. */
function chromiumRss() {
  const rss = { renderer: 0, other: 0 };
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
      if (!cmd.includes('chromium')) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
      if (m) rss[cmd.includes('--type=renderer') ? 'renderer' : 'other'] += Number(m[1]) * 1024;
    } catch { /* exited meanwhile */ }
  }
  return rss;
}

const input = path.join(tempDir('bench-'), 'big.bin');
const fd = openSync(input, 'w');
for (let i = 0; i < SIZE_MIB; i++) writeSync(fd, randomBytes(MIB));
closeSync(fd);

const relay = await startRelay();
const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  await page.goto(`${relay.base}/`);
  await page.waitForSelector('h1');
  await page.evaluate(() => {
    const el = document.createElement('input');
    el.type = 'file';
    el.id = 'bench-file';
    document.body.append(el);
  });
  await page.setInputFiles('#bench-file', input);
  const baseline = chromiumRss();
  const peak = { ...baseline };
  const sampler = setInterval(() => {
    const now = chromiumRss();
    for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], now[k]);
  }, 100);
  // The message format is client/worker/src/job.rs.
  const result = await page.evaluate(async () => {
    const file = document.getElementById('bench-file').files[0];
    const worker = new Worker('/parley-worker_loader.js');
    await new Promise((resolve) => { worker.onmessage = resolve; });
    let last = performance.now();
    let stall = 0;
    const tick = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last);
      last = now;
    }, 10);
    const started = performance.now();
    const done = await new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => {
        if (data.kind === 'done') resolve(data);
        else if (data.kind === 'failed') reject(new Error(data.message));
      };
      worker.postMessage({ op: 'encrypt', file, key: crypto.getRandomValues(new Uint8Array(32)) });
    });
    const secs = (performance.now() - started) / 1000;
    clearInterval(tick);
    worker.terminate();
    return {
      secs,
      out: done.blob.size,
      stallMs: stall,
      pageHeap: performance.memory?.usedJSHeapSize ?? null,
    };
  });
  clearInterval(sampler);
  const mbps = (SIZE_MIB * MIB) / result.secs / 1e6;
  console.log(`BENCH file worker encrypt ${SIZE_MIB} MiB: ${result.secs.toFixed(2)} s, ${mbps.toFixed(1)} MB/s`
    + ` (ciphertext ${(result.out / MIB).toFixed(1)} MiB)`);
  console.log(`BENCH page thread: longest gap between 10 ms timer ticks ${result.stallMs.toFixed(0)} ms`
    + (result.pageHeap === null ? '' : `; page JS heap after ${(result.pageHeap / MIB).toFixed(1)} MiB`));
  const grew = (k) => `+${((peak[k] - baseline[k]) / MIB).toFixed(0)} MiB (from ${(baseline[k] / MIB).toFixed(0)})`;
  console.log(`BENCH Chromium resident memory, peak during the run: renderer (page + worker) ${grew('renderer')},`
    + ` browser and other processes ${grew('other')}`);
} finally {
  await browser.close();
  await relay.stop();
  rmSync(path.dirname(input), { recursive: true, force: true });
}
