import { type Kysely } from 'kysely';

/**
 * Campuses and buildings over REST (issue 10): a campus's IANA time zone (the fixed
 * `utc_offset_minutes` stays, now derived from the zone when it is set), and retirement of
 * campuses and buildings (kept for history, closed to new rooms). Frozen in time: this file
 * never imports from src/.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('campuses').addColumn('time_zone', 'text').execute();
  await db.schema.alterTable('campuses').addColumn('retired_at', 'timestamptz').execute();
  await db.schema.alterTable('buildings').addColumn('retired_at', 'timestamptz').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('buildings').dropColumn('retired_at').execute();
  await db.schema.alterTable('campuses').dropColumn('retired_at').execute();
  await db.schema.alterTable('campuses').dropColumn('time_zone').execute();
}
