#!/usr/bin/env node
/**
 * `npm run build`: the server compiled to plain JavaScript in `dist/` (scripts/compile.js), for
 * production: `node dist/bin/campus-prepaid.js serve`. `npm start` runs the TypeScript through
 * tsx, which compiles with esbuild's `keepNames`: every function gets its `name` redefined, and
 * each closure of each actor (a few dozen per dormitory) then carries its own property table,
 * about 256 bytes. At 20,000 meters the compiled server starts about 400 MiB smaller
 * (docs/benchmarks.md).
 */
import path from 'node:path';
import { compileTree, root } from './compile.js';

const outDir = path.join(root, 'dist');
const status = compileTree(outDir);
if (status !== 0) {
  console.error(`tsc could not compile the server (exit ${status})`);
  process.exit(1);
}
console.log(`compiled into ${path.relative(root, outDir)}; run: node dist/bin/campus-prepaid.js serve`);
