// Benchmark, not a test (`make bench`; numbers go to docs/benchmarks.md):
// Parley's file worker against libsodium.js (npm libsodium-wrappers-sumo,
// the same secretstream as libsodium-wrappers plus streaming SHA-256) in
// the same page, on the same in-memory Blob, read the same way.
//
// Each side is a dedicated worker that reads the Blob in 1 MiB slices with
// FileReaderSync and folds its output into a Blob every 8 MiB, as the app's
// worker does (client/worker/src/work.rs, sink.rs); only the crypto differs:
// - Parley: STREAM, ChaCha20-Poly1305 over 64 KiB chunks, Padmé padding,
//   SHA-256 of the ciphertext (the app's own worker build from PARLEY_DIST;
//   from 8 MiB on it digests and folds on a helper worker, helper.rs);
// - libsodium: crypto_secretstream_xchacha20poly1305 over 64 KiB messages,
//   alone and with crypto_hash_sha256 over its output (what Parley's digest costs);
// - read+fold: the same loop with a copy of each 64 KiB instead of a cipher,
//   the ceiling that reading and folding leave any library.
// The sides take turns, ROUNDS times, each in a fresh worker, the order
// rotating each round so no side always runs first. Each run also reports
// the machine's CPU time while it was timed (/proc/stat, all processes).
// PARLEY_BENCH_COMPARE=name=dist[,name=dist] adds other builds of the app's
// worker (e.g. the commit before a change) to the same run, as a baseline.
//
// Then the ciphers alone, on the page's thread, from 16 random 1 MiB
// buffers in memory (no Blob, no worker): Parley's STREAM through
// tools/stream-bench (PARLEY_STREAM_BENCH: its wasm-bindgen `--target web`
// output, built by scripts/bench.sh) against libsodium's secretstream, alone
// and with SHA-256, each piece copied into and out of WASM memory by both;
// Parley's cipher without the digest (`cipher`: what the worker's own thread
// runs when a helper digests) and Parley's SHA-256 alone.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIST, launchBrowser } from './harness.mjs';

const MIB = 1024 * 1024;
// 128 MiB: with 256, this machine's Chromium could not read the in-memory
// input Blob again after its first full pass (NotReadableError), in every
// build and in a page with no Parley code at all.
const SIZE_MIB = Number(process.env.PARLEY_BENCH_MIB || 128);
const ROUNDS = Number(process.env.PARLEY_BENCH_ROUNDS || 3);
const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, 'node_modules');
const builds = { parley: DIST };
const CORE = process.env.PARLEY_STREAM_BENCH;
// PARLEY_STREAM_BENCH_COMPARE=name=dir[,…]: other builds of tools/stream-bench (e.g. without SIMD).
const cores = CORE ? { parley: CORE } : {};
for (const pair of (process.env.PARLEY_STREAM_BENCH_COMPARE || '').split(',').filter(Boolean)) {
  const [name, dir] = pair.split('=');
  cores[name] = dir;
}
for (const pair of (process.env.PARLEY_BENCH_COMPARE || '').split(',').filter(Boolean)) {
  const [name, dir] = pair.split('=');
  builds[name] = dir;
}

// libsodium's worker: the app's read-slice / fold-every-8-MiB loop around secretstream.
const SODIUM_WORKER = `
import sodium from './libsodium-wrappers.mjs';
await sodium.ready;
self.onmessage = ({ data: { file, key, digest, copyOnly } }) => {
  const reader = new FileReaderSync();
  const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
  const hash = digest ? sodium.crypto_hash_sha256_init() : null;
  const folded = [];
  let pending = [header];
  let pendingBytes = header.length;
  const push = (ct) => {
    if (hash) sodium.crypto_hash_sha256_update(hash, ct);
    pending.push(ct);
    pendingBytes += ct.length;
    if (pendingBytes >= ${8 * MIB}) { folded.push(new Blob(pending)); pending = []; pendingBytes = 0; }
  };
  const CHUNK = 65536;
  for (let at = 0; at < file.size; at += ${MIB}) {
    const slice = new Uint8Array(reader.readAsArrayBuffer(file.slice(at, Math.min(at + ${MIB}, file.size))));
    for (let off = 0; off < slice.length; off += CHUNK) {
      const last = at + off + CHUNK >= file.size;
      const tag = last ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
        : sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
      push(copyOnly ? slice.slice(off, off + CHUNK)
        : sodium.crypto_secretstream_xchacha20poly1305_push(state, slice.subarray(off, off + CHUNK), null, tag));
    }
  }
  folded.push(new Blob(pending));
  const out = new Blob(folded);
  self.postMessage({ kind: 'done', blob: out, digest: hash ? sodium.crypto_hash_sha256_final(hash) : null });
};
self.postMessage({ kind: 'ready' });
`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>STREAM bench</title>
<script type="module">
window.makeInput = (mib) => {
  const parts = [];
  for (let i = 0; i < mib; i++) {
    const part = new Uint8Array(${MIB});
    for (let off = 0; off < part.length; off += 65536) crypto.getRandomValues(part.subarray(off, off + 65536));
    parts.push(part);
  }
  window.input = new Blob(parts);
  return window.input.size;
};
// One job in a fresh worker; the clock starts once the worker is ready.
window.run = (side) => new Promise((resolve, reject) => {
  const worker = side.startsWith('sodium') || side === 'read+fold'
    ? new Worker('/sodium/worker.mjs', { type: 'module' })
    : new Worker('/b/' + side + '/parley-worker_loader.js');
  worker.onerror = (e) => reject(new Error(side + ' worker: ' + e.message));
  let started = 0;
  let cpu0 = null;
  worker.onmessage = async ({ data }) => {
    if (data.kind === 'ready') {
      cpu0 = await window.cpuMark();
      started = performance.now();
      worker.postMessage({ op: 'encrypt', file: window.input,
        key: crypto.getRandomValues(new Uint8Array(32)), digest: side === 'sodium+sha256',
        copyOnly: side === 'read+fold' });
    } else if (data.kind === 'done') {
      const secs = (performance.now() - started) / 1000;
      const cpu = (await window.cpuMark()) - cpu0;
      worker.terminate();
      const out = data.blob.size;
      data = null;
      setTimeout(() => { window.gc(); resolve({ secs, out, cpu }); }, 100);
    } else if (data.kind === 'failed') {
      reject(new Error(side + ': ' + data.message));
    }
  };
});
// The ciphers alone: MIB MiB from 16 buffers in memory, outputs dropped.
window.core = async (side, mib) => {
  const pieces = [];
  for (let i = 0; i < 16; i++) {
    const p = new Uint8Array(${MIB});
    for (let off = 0; off < p.length; off += 65536) crypto.getRandomValues(p.subarray(off, off + 65536));
    pieces.push(p);
  }
  const key = crypto.getRandomValues(new Uint8Array(32));
  let out = 0;
  let started;
  const [build, what] = side.split(' ');
  if (what === 'sha256') {
    const m = await import('/core/' + build + '/parley_stream_bench.js');
    await m.default('/core/' + build + '/parley_stream_bench_bg.wasm');
    started = performance.now();
    const h = new m.Sha256Bench();
    for (let i = 0; i < mib; i++) h.update(pieces[i % 16]);
    out += h.finish().length;
  } else if (!side.startsWith('sodium')) {
    const m = await import('/core/' + build + '/parley_stream_bench.js');
    await m.default('/core/' + build + '/parley_stream_bench_bg.wasm');
    started = performance.now();
    const s = what === 'cipher' ? new m.SealerBench(key, mib * ${MIB}) : new m.StreamBench(key, mib * ${MIB});
    for (let i = 0; i < mib; i++) out += s.update(pieces[i % 16]).length;
    out += s.finish().length;
    s.free();
  } else {
    const sodium = (await import('/sodium/libsodium-wrappers.mjs')).default;
    await sodium.ready;
    started = performance.now();
    const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
    const hash = side === 'sodium+sha256' ? sodium.crypto_hash_sha256_init() : null;
    out += header.length;
    for (let i = 0; i < mib; i++) {
      const p = pieces[i % 16];
      for (let off = 0; off < p.length; off += 65536) {
        const last = i === mib - 1 && off + 65536 >= p.length;
        const ct = sodium.crypto_secretstream_xchacha20poly1305_push(state, p.subarray(off, off + 65536), null,
          last ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL : sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
        if (hash) sodium.crypto_hash_sha256_update(hash, ct);
        out += ct.length;
      }
    }
    if (hash) out += sodium.crypto_hash_sha256_final(hash).length;
  }
  return { secs: (performance.now() - started) / 1000, out };
};
</script>`;

function file(res, type, body) {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

const server = createServer((req, res) => {
  const url = req.url.split('?')[0];
  const js = 'text/javascript';
  if (url === '/') return file(res, 'text/html', PAGE);
  if (url === '/sodium/worker.mjs') return file(res, js, SODIUM_WORKER);
  const c = /^\/core\/([^/]+)\/(parley_stream_bench(?:\.js|_bg\.wasm))$/.exec(url);
  if (c && cores[c[1]]) {
    return file(res, c[2].endsWith('.wasm') ? 'application/wasm' : js, readFileSync(path.join(cores[c[1]], c[2])));
  }
  if (url === '/sodium/libsodium-wrappers.mjs') {
    const src = readFileSync(path.join(modules, 'libsodium-wrappers-sumo/dist/modules-sumo-esm/libsodium-wrappers.mjs'), 'utf8');
    return file(res, js, src.replace(/from\s*"libsodium-sumo"/, 'from"./libsodium-sumo.mjs"'));
  }
  if (url === '/sodium/libsodium-sumo.mjs') {
    return file(res, js, readFileSync(path.join(modules, 'libsodium-sumo/dist/modules-sumo-esm/libsodium-sumo.mjs')));
  }
  const m = /^\/b\/([^/]+)\/(parley-worker(?:_loader)?\.js|parley-worker_bg\.wasm)$/.exec(url);
  if (m && builds[m[1]]) {
    return file(res, m[2].endsWith('.wasm') ? 'application/wasm' : js, readFileSync(path.join(builds[m[1]], m[2])));
  }
  res.writeHead(404);
  res.end();
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

// gc() between runs: each run's output Blob is dropped before the next, so
// the browser's Blob store (which spills to disk when full) starts empty.
const browser = await launchBrowser(['--js-flags=--expose-gc']);
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => typeof window.run === 'function');
  const bytes = await page.evaluate((mib) => window.makeInput(mib), SIZE_MIB);
  const results = {};
  // CPU of the whole machine (all processes: the browser's threads do part
  // of the reading and storing) while a worker run is timed, from /proc/stat.
  const cpuMsPerMib = {};
  await page.exposeFunction('cpuMark', () => {
    const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal, in USER_HZ (100 per second).
    return (v.slice(0, 8).reduce((a, b) => a + b, 0) - v[3] - v[4]) / 100;
  });
  for (let round = 1; round <= ROUNDS; round++) {
    const sides = [...Object.keys(builds), 'sodium', 'sodium+sha256', 'read+fold'];
    const turn = (round - 1) % sides.length;
    for (const side of [...sides.slice(turn), ...sides.slice(0, turn)]) {
      const { secs, out, cpu } = await page.evaluate((s) => window.run(s), side);
      const mbps = bytes / secs / 1e6;
      (results[side] ??= []).push(mbps);
      (cpuMsPerMib[side] ??= []).push((cpu * 1000) / SIZE_MIB);
      console.log(`BENCH round ${round} ${side}: ${SIZE_MIB} MiB in ${secs.toFixed(2)} s, ${mbps.toFixed(1)} MB/s`
        + ` (output ${(out / MIB).toFixed(1)} MiB), CPU ${cpu.toFixed(2)} core-s (${((100 * cpu) / secs).toFixed(0)} % of a core)`);
    }
  }
  if (CORE) {
    for (let round = 1; round <= ROUNDS; round++) {
      const sides = [...Object.keys(cores).flatMap((b) => [b, `${b} cipher`, `${b} sha256`]), 'sodium', 'sodium+sha256'];
      const turn = (round - 1) % sides.length;
      for (const side of [...sides.slice(turn), ...sides.slice(0, turn)]) {
        const { secs } = await page.evaluate(([s, mib]) => window.core(s, mib), [side, SIZE_MIB]);
        const mbps = bytes / secs / 1e6;
        (results[`core ${side}`] ??= []).push(mbps);
        console.log(`BENCH round ${round} core ${side}: ${SIZE_MIB} MiB in ${secs.toFixed(2)} s, ${mbps.toFixed(1)} MB/s`);
      }
    }
  }
  const range = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} MB/s`;
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [side, xs] of Object.entries(results)) {
    const cpu = cpuMsPerMib[side];
    console.log(`BENCH ${side}: median ${median(xs).toFixed(0)} MB/s, ${range(xs)} over ${xs.length} rounds`
      + (cpu ? `; CPU median ${median(cpu).toFixed(1)} ms per MiB (${Math.min(...cpu).toFixed(1)}–${Math.max(...cpu).toFixed(1)})` : ''));
  }
  const ratio = (a, b) => results[a] && results[b]
    ? `${(median(results[a]) / median(results[b])).toFixed(2)}× (medians)` : 'not run';
  console.log(`BENCH file worker, Parley / libsodium secretstream: ${ratio('parley', 'sodium')};`
    + ` / libsodium secretstream + SHA-256: ${ratio('parley', 'sodium+sha256')}`);
  console.log(`BENCH ciphers alone, Parley / libsodium secretstream: ${ratio('core parley', 'core sodium')};`
    + ` / libsodium secretstream + SHA-256: ${ratio('core parley', 'core sodium+sha256')};`
    + ` Parley's cipher without the digest / libsodium secretstream: ${ratio('core parley cipher', 'core sodium')}`);
} finally {
  await browser.close();
  server.close();
}
