// Benchmark, not a test (`make bench`; numbers go to docs/benchmarks.md):
// the app's own file worker encrypts a 256 MiB file, as the app does when a
// file is sent, then decrypts it as a download from the relay (which serves
// it from disk on loopback). Reports throughput, the longest stall of the
// page's thread while each runs, and the peak resident memory of Chromium's
// processes above the baseline (page, file worker and its helper). The
// file is a real 256 MiB file on disk, picked through an <input type=file>
// like a user would.
import { randomBytes } from 'node:crypto';
import { closeSync, cpSync, openSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { DIST, launchBrowser, startRelay, tempDir } from './harness.mjs';

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

// The relay serves a copy of the app with the ciphertext beside it, so the
// download reads it from the app's own origin (the page's CSP allows no
// other), as from the relay's store. Named .mp4: the relay's static route
// gzips other types on the fly (video and images excepted), which its blob
// route does not do to ciphertext (relay/src/http/blobs.rs).
const stat = tempDir('bench-dist-');
cpSync(DIST, stat, { recursive: true });
const relay = await startRelay({ staticDir: stat });
const browser = await launchBrowser();

/** Runs `job` (in the page) while sampling Chromium's memory; prints the
 * peak above the baseline. */
async function measured(page, label, job, arg) {
  const baseline = chromiumRss();
  const peak = { ...baseline };
  const sampler = setInterval(() => {
    const now = chromiumRss();
    for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], now[k]);
  }, 100);
  try {
    return await page.evaluate(job, arg);
  } finally {
    clearInterval(sampler);
    const grew = (k) => `+${((peak[k] - baseline[k]) / MIB).toFixed(0)} MiB (from ${(baseline[k] / MIB).toFixed(0)})`;
    console.log(`BENCH ${label}: Chromium resident memory, peak during the run: renderer (page + workers) ${grew('renderer')},`
      + ` browser and other processes ${grew('other')}`);
  }
}

/** In the page: starts the app's file worker, posts `request`, times it
 * to its answer while a 10 ms timer watches the page's thread. The
 * message format is client/worker/src/job.rs. */
async function timedJob(request) {
  const worker = new Worker('/parley-worker_loader.js');
  await new Promise((resolve, reject) => {
    worker.onmessage = resolve;
    worker.onerror = () => reject(new Error('the file worker did not load'));
  });
  let last = performance.now();
  let stall = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
  }, 10);
  const started = performance.now();
  try {
    const done = await new Promise((resolve, reject) => {
      worker.onmessage = ({ data }) => {
        if (data.kind === 'done') resolve(data);
        else if (data.kind === 'failed') reject(new Error(data.message));
      };
      worker.postMessage(request);
    });
    return { done, secs: (performance.now() - started) / 1000, stallMs: stall };
  } finally {
    clearInterval(tick);
    worker.terminate();
  }
}

const report = (what, r) => {
  const mbps = (SIZE_MIB * MIB) / r.secs / 1e6;
  console.log(`BENCH file worker ${what} ${SIZE_MIB} MiB: ${r.secs.toFixed(2)} s, ${mbps.toFixed(1)} MB/s;`
    + ` page thread: longest gap between 10 ms timer ticks ${r.stallMs.toFixed(0)} ms`);
};

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
  // A function of this file cannot be passed to the page as an argument:
  // its source is evaluated there instead.
  await page.evaluate(`window.timedJob = ${timedJob}`);
  await page.setInputFiles('#bench-file', input);

  const up = await measured(page, 'encrypt', async () => {
    const file = document.getElementById('bench-file').files[0];
    const key = crypto.getRandomValues(new Uint8Array(32));
    const r = await window.timedJob({ op: 'encrypt', file, key });
    window.sealed = { blob: r.done.blob, key, digest: r.done.digest, size: file.size };
    return { secs: r.secs, stallMs: r.stallMs, out: r.done.blob.size };
  });
  report('encrypt', up);
  console.log(`BENCH ciphertext ${(up.out / MIB).toFixed(1)} MiB`);

  // The ciphertext to disk, beside the app the relay serves (outside the timing).
  const [saved] = await Promise.all([
    page.waitForEvent('download'),
    page.evaluate(() => {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(window.sealed.blob);
      a.download = 'sealed.bin';
      document.body.append(a);
      a.click();
      return a.href;
    }),
  ]);
  await saved.saveAs(path.join(stat, 'bench-sealed.mp4'));
  // The ciphertext Blob is not kept through the download's run.
  await page.evaluate(() => {
    URL.revokeObjectURL(document.querySelector('a[download]').href);
    document.querySelector('a[download]').remove();
    window.sealed.blob = null;
  });

  const down = await measured(page, 'decrypt', async () => {
    const { key, digest, size } = window.sealed;
    window.sealed = null;
    const r = await window.timedJob({
      op: 'decrypt', url: '/bench-sealed.mp4', headers: {}, key, size, digest, mime: 'application/octet-stream',
    });
    if (r.done.blob.size !== size) throw new Error(`decrypted ${r.done.blob.size} bytes of ${size}`);
    return { secs: r.secs, stallMs: r.stallMs };
  });
  report('decrypt (download from the relay on loopback)', down);
} finally {
  await browser.close();
  await relay.stop();
  rmSync(path.dirname(input), { recursive: true, force: true });
  rmSync(stat, { recursive: true, force: true });
}
