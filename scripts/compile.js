/**
 * The repository compiled with tsc (emit only, tsconfig.build.json; `npm run typecheck` is the
 * type check) into `outDir`, mirroring the repository: the folders read by path at run time are
 * linked into it, and its `bin/campus-prepaid.js` starts the compiled CLI. Used by the test
 * runner (scripts/test.js) and by `npm run build` (scripts/build.js).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '..');

/** Folders read at run time by path (static files, docs, deploy configs, packages): linked, not copied. */
export const LINKED = ['public', 'docs', 'deploy', 'node_modules', 'test-artifacts'];

/** Compiles into `outDir` (emptied first); returns tsc's exit status (0: compiled). */
export function compileTree(outDir) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(path.join(root, 'test-artifacts'), { recursive: true });
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', outDir], {
    cwd: root,
    stdio: 'inherit',
  });
  if (tsc.status !== 0) return tsc.status ?? 1;
  for (const name of LINKED) symlinkSync(path.join(root, name), path.join(outDir, name));
  mkdirSync(path.join(outDir, 'bin'));
  writeFileSync(path.join(outDir, 'bin', 'campus-prepaid.js'), "#!/usr/bin/env node\n// The compiled CLI (scripts/compile.js).\nawait import('../src/cli.js');\n");
  return 0;
}
