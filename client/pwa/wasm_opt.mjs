// `wasm-opt -Oz --strip-debug --strip-producers --strip-target-features`
// (or `-O3`, for the file worker: speed, not size) on many modules in one
// node process (client/pwa/build_app.py, worker.py). The app's build writes ~75 modules, most of
// them under 2 KB; binaryen's npm `wasm-opt` is binaryen compiled to wasm,
// and starting it once per module cost ~1 s of CPU each, most of a release
// build. binaryen's own library API runs the same passes (`-Oz` is its
// default pipeline at optimize level 2, shrink level 2) and, set as below,
// writes byte for byte what the CLI with those flags writes.
//
// Usage: node wasm_opt.mjs BINARYEN_INDEX_JS -Oz|-O3 FILE.wasm... (each rewritten in place)
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [binaryenPath, level, ...files] = process.argv.slice(2);
// -Oz: binaryen's optimize level 2 with shrink level 2; -O3: 3 and 0.
const LEVELS = { '-Oz': [2, 2], '-O3': [3, 0] };
if (!binaryenPath || !(level in LEVELS) || files.length === 0) {
  console.error('usage: node wasm_opt.mjs BINARYEN_INDEX_JS -Oz|-O3 FILE.wasm...');
  process.exit(2);
}
const { default: binaryen } = await import(pathToFileURL(binaryenPath).href);
const F = binaryen.Features;
// What the build enables (rustc's wasm32 defaults plus SIMD, scripts/lib.sh):
// the split modules carry no target-features section to read it from.
// (`--enable-bulk-memory` and `--enable-reference-types` also turn on what
// they imply, as the CLI does.)
const features = F.MutableGlobals | F.NontrappingFPToInt | F.SIMD128 | F.BulkMemory
  | F.BulkMemoryOpt | F.SignExt | F.ReferenceTypes | F.CallIndirectOverlong | F.Multivalue;
binaryen.setOptimizeLevel(LEVELS[level][0]);
binaryen.setShrinkLevel(LEVELS[level][1]);
binaryen.setDebugInfo(false);
// The CLI optimizes the stack form when it writes an optimized module; the
// library only when asked (without it the main module's code is 2.9 KB larger).
binaryen.setGenerateStackIR(true);
binaryen.setOptimizeStackIR(true);

for (const file of files) {
  const module = binaryen.readBinary(readFileSync(file));
  try {
    module.setFeatures(features);
    if (!module.validate()) throw new Error(`${file} does not validate`);
    module.optimize();
    // Nor the producers and target-features sections: nothing reads them
    // after this step (browsers ignore them), and every module has them.
    module.runPasses(['strip-debug', 'strip-producers', 'strip-target-features']);
    writeFileSync(file, module.emitBinary());
  } finally {
    module.dispose();
  }
}
