import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../src/db/connect.ts';
import { migrateToLatest } from '../src/db/migrate.ts';

let template: Promise<Blob> | undefined;

/** Migrates an in-memory PGlite once and dumps it: each fresh database loads the dump (~0.5 s, not ~3 s). */
async function pgliteTemplate(): Promise<Blob> {
  const handle = await openDatabase({ dataDir: 'memory://' });
  try {
    await migrateToLatest(handle.db);
    return await handle.pglite!.dumpDataDir('none');
  } finally {
    await handle.close();
  }
}

/**
 * A fresh, migrated database for one scenario, dropped (or deleted) on close:
 * PostgreSQL (a new schema at `databaseUrl`, dropped afterwards) when a URL is given; else
 * PGlite in a new temporary directory on disk, as `npm start` runs it.
 */
export async function openBenchDatabase(databaseUrl: string | undefined): Promise<DatabaseHandle> {
  if (databaseUrl) {
    const schema = `bench_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      await admin.query(`create schema ${schema}`);
    } finally {
      await admin.end();
    }
    const handle = await openDatabase({ databaseUrl, dataDir: '', schema });
    await migrateToLatest(handle.db, schema);
    return {
      ...handle,
      close: async () => {
        await handle.close();
        const cleanup = new pg.Client({ connectionString: databaseUrl });
        await cleanup.connect();
        try {
          await cleanup.query(`drop schema ${schema} cascade`);
        } finally {
          await cleanup.end();
        }
      },
    };
  }
  template ??= pgliteTemplate();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'campus-bench-'));
  const handle = await openDatabase({ dataDir, loadDataDir: await template });
  return {
    ...handle,
    close: async () => {
      await handle.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
