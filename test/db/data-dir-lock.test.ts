import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { acquireDataDirLock, DataDirLockedError, LOCK_FILE_NAME } from '../../src/db/data-dir-lock.ts';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'campus-lock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('one holder per DATA_DIR: a second one is refused with the owner pid; release frees it', async (t) => {
  const dir = tempDir(t);
  const lock = acquireDataDirLock(dir);
  t.match(JSON.parse(readFileSync(path.join(dir, LOCK_FILE_NAME), 'utf8')), { pid: process.pid, host: hostname() }, 'the lock file names the owner');
  // Same process, a second holder: the owner is alive, so it is refused (as a second process would be).
  const other = { pid: process.ppid, host: hostname() }; // a live process that is not us
  writeFileSync(path.join(dir, LOCK_FILE_NAME), JSON.stringify(other));
  t.throws(() => acquireDataDirLock(dir), new DataDirLockedError(dir, other.pid, path.join(dir, LOCK_FILE_NAME)), 'a lock held by a live process is refused, naming it');
  t.throws(() => acquireDataDirLock(dir), { message: new RegExp(`in use by another campus-prepaid process \\(pid ${other.pid}`) });
  writeFileSync(path.join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: process.pid, host: hostname() }));
  lock.release();
  t.notOk(existsSync(path.join(dir, LOCK_FILE_NAME)), 'release removes the lock file');
});

t.test('a stale lock (its process is gone) is taken over', async (t) => {
  const dir = tempDir(t);
  const dead = spawnSync(process.execPath, ['-e', '']).pid!; // has exited by now
  writeFileSync(path.join(dir, LOCK_FILE_NAME), JSON.stringify({ pid: dead, host: hostname() }));
  const lock = acquireDataDirLock(dir);
  t.ok(lock.tookOverStale, `the lock of dead pid ${dead} is stale and taken over`);
  t.equal(JSON.parse(readFileSync(lock.file, 'utf8')).pid, process.pid, 'now ours');
  lock.release();
});

// PGlite holding the lock across processes: test/cli/serve-start.test.ts.
