import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatabaseIntrospector, Kysely, SchemaMetadata, TableMetadata } from 'kysely';
import { FileMigrationProvider, Migrator, sql, type MigrationResultSet } from 'kysely';
import type { Database } from './database.ts';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/**
 * What the migrator asks the database (does the schema exist, does its bookkeeping table exist),
 * answered for the one schema it migrates. Kysely's own PostgreSQL introspector reads every table
 * and column of every schema, calling `pg_get_serial_sequence` on each: with many schemas on one
 * database (each test file has its own, created and dropped beside the others) that is slow, and a
 * schema dropped while the query runs fails it with "schema t_… does not exist", naming another
 * test's schema. Only names are needed: `pg_namespace` and `pg_tables` of the schema in question
 * (the search path's first when none is given).
 */
export function narrowIntrospector(db: Kysely<Database>, schema: string | undefined): DatabaseIntrospector {
  const inSchema = schema === undefined ? sql<boolean>`schemaname = current_schema()` : sql<boolean>`schemaname = ${schema}`;
  const getTables = async (): Promise<TableMetadata[]> => {
    const { rows } = await sql<{ name: string; schema: string }>`select tablename as name, schemaname as schema from pg_catalog.pg_tables where ${inSchema}`.execute(db);
    return rows.map((row) => ({ name: row.name, schema: row.schema, isView: false, columns: [] }));
  };
  return {
    async getSchemas(): Promise<SchemaMetadata[]> {
      const { rows } = await sql<SchemaMetadata>`select nspname as name from pg_catalog.pg_namespace`.execute(db);
      return rows;
    },
    getTables,
    async getMetadata() {
      return { tables: await getTables() };
    },
  };
}

/** The database as the migrator sees it: itself, but introspected by `narrowIntrospector`. */
function forMigrator(db: Kysely<Database>, schema: string | undefined): Kysely<Database> {
  const introspection = narrowIntrospector(db, schema);
  return new Proxy(db, {
    get(target, property) {
      if (property === 'introspection') return introspection;
      const value: unknown = Reflect.get(target, property, target);
      // Kysely's methods use private fields: they must run on the real instance, not the proxy.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function migrator(db: Kysely<Database>, schema?: string): Migrator {
  return new Migrator({
    db: forMigrator(db, schema),
    provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_DIR }),
    // Migrations are named by the time slot each engineer is given, so one may land after a
    // later-named one already ran on a database: pending ones still run in name order, but the
    // order is not checked against those already run (else that database refuses to start).
    allowUnorderedMigrations: true,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
}

/** Runs every pending migration; throws with the failing migration's name. */
export async function migrateToLatest(db: Kysely<Database>, schema?: string): Promise<MigrationResultSet> {
  const result = await migrator(db, schema).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    const cause = result.error instanceof Error ? result.error : new Error(String(result.error));
    throw new Error(`migration ${failed?.migrationName ?? '(unknown)'} failed: ${cause.message}`, { cause });
  }
  return result;
}
