import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

/**
 * One process per DATA_DIR. PGlite has no lock of its own (pglite#1106): two processes on one
 * directory both start and overwrite each other's writes. The lock is a file created
 * exclusively (O_CREAT|O_EXCL) holding the owner's pid and host; a lock whose process is gone
 * (same host, pid not running) is stale and taken over.
 */
export const LOCK_FILE_NAME = 'campus-prepaid.lock';

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly ownerPid: number,
    readonly lockFile: string,
    options?: ErrorOptions,
  ) {
    super(`DATA_DIR ${dataDir} is in use by another campus-prepaid process (pid ${ownerPid}, lock file ${lockFile}). Stop that process, or use another DATA_DIR.`, options);
    this.name = 'DataDirLockedError';
  }
}

export interface DataDirLock {
  readonly file: string;
  /** Whether a stale lock (its process gone) was taken over. */
  readonly tookOverStale: boolean;
  release(): void;
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string' ? { pid: owner.pid, host: owner.host } : undefined;
  } catch {
    return undefined; // unreadable or half-written: treated as stale below only if empty for good
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

export function acquireDataDirLock(dataDir: string): DataDirLock {
  const file = path.join(dataDir, LOCK_FILE_NAME);
  let tookOverStale = false;
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(file);
      const stale = owner ? owner.host === hostname() && owner.pid !== process.pid && !isRunning(owner.pid) : false;
      if (owner && !stale) throw new DataDirLockedError(dataDir, owner.pid, file, { cause: error });
      if (!owner) throw new Error(`DATA_DIR ${dataDir}: lock file ${file} exists but is unreadable; remove it if no campus-prepaid process uses this directory`, { cause: error });
      unlinkSync(file);
      tookOverStale = true;
      continue;
    }
    writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
    closeSync(fd);
    return {
      file,
      tookOverStale,
      release() {
        if (readOwner(file)?.pid === process.pid) unlinkSync(file);
      },
    };
  }
  throw new Error(`DATA_DIR ${dataDir}: could not take over the stale lock file ${file}`);
}
