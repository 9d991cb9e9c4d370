import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { serve } from '../helpers/serve-process.ts';
import { acquireDataDirLock } from '../../src/db/data-dir-lock.ts';

/**
 * Issue 9, faults: two processes on one DATA_DIR once both started and lost each other's
 * recharges. The second must refuse to start, saying which process holds the directory.
 * This test process takes the lock exactly as `openDatabase` does for PGlite.
 */
t.test('a second process on the same DATA_DIR refuses to start', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'serve-lock-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const lock = acquireDataDirLock(dataDir); // this test process is the first one
  t.teardown(() => lock.release());
  const exit = await serve({ DATA_DIR: dataDir });
  t.equal(exit.code, 1, `the second process exits 1 (after ${exit.seconds.toFixed(1)} s)`);
  t.match(exit.stderr, new RegExp(`DATA_DIR .* is in use by another campus-prepaid process \\(pid ${process.pid}, lock file`), 'and says which process holds it');
});
