import { sql, type Kysely } from 'kysely';

/**
 * The whole mission's schema. Frozen in time: this file never imports from src/.
 * Money is bigint minor units (fen); energy bigint Wh; water volume bigint litres.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('campuses')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('utc_offset_minutes', 'integer', (c) => c.notNull().defaultTo(480))
    .addColumn('settings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('buildings')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('campus_id', 'text', (c) => c.notNull().references('campuses.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('floors', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('settings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();

  await db.schema
    .createTable('tariffs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('purse', 'text', (c) => c.notNull().check(sql`purse in ('electricity', 'water')`))
    .addColumn('definition', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('free_quota_policies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('purse', 'text', (c) => c.notNull().check(sql`purse in ('electricity', 'water')`))
    .addColumn('monthly_allowance', 'bigint', (c) => c.notNull().check(sql`monthly_allowance >= 0`))
    .execute();

  await db.schema
    .createTable('dormitories')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('building_id', 'text', (c) => c.notNull().references('buildings.id'))
    .addColumn('floor', 'integer', (c) => c.notNull())
    .addColumn('room', 'text', (c) => c.notNull())
    .addColumn('capacity', 'integer', (c) => c.notNull().defaultTo(4))
    .addColumn('tags', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('normal'))
    .addColumn('electricity_tariff_id', 'text', (c) => c.references('tariffs.id'))
    .addColumn('water_tariff_id', 'text', (c) => c.references('tariffs.id'))
    .addColumn('electricity_quota_id', 'text', (c) => c.references('free_quota_policies.id'))
    .addColumn('water_quota_id', 'text', (c) => c.references('free_quota_policies.id'))
    .addColumn('holiday_off', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('settings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('dormitories_building_room_unique', ['building_id', 'room'])
    .execute();
  await db.schema.createIndex('dormitories_state_idx').on('dormitories').column('state').execute();

  await db.schema
    .createTable('occupants')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('student_number', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('college', 'text')
    .addColumn('class_name', 'text')
    .addColumn('phone', 'text')
    .addColumn('dormitory_id', 'text', (c) => c.references('dormitories.id'))
    .addColumn('bed', 'integer')
    .addColumn('checked_in_at', 'timestamptz')
    .addColumn('checked_out_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('occupants_dormitory_idx').on('occupants').column('dormitory_id').execute();

  await db.schema
    .createTable('accounts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('dormitory_id', 'text', (c) => c.notNull().references('dormitories.id'))
    .addColumn('purse', 'text', (c) => c.notNull().check(sql`purse in ('electricity', 'water')`))
    .addColumn('balance', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('accounts_dormitory_purse_unique', ['dormitory_id', 'purse'])
    .execute();

  await db.schema
    .createTable('gateways')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('campus_id', 'text', (c) => c.notNull().references('campuses.id'))
    .addColumn('building_id', 'text', (c) => c.references('buildings.id'))
    .addColumn('protocol', 'text', (c) => c.notNull().check(sql`protocol in ('modbus-tcp', 'mqtt')`))
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('settings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('meters')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('dormitory_id', 'text', (c) => c.notNull().references('dormitories.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('electric', 'water')`))
    .addColumn('profile', 'text', (c) => c.notNull())
    .addColumn('gateway_id', 'text', (c) => c.notNull().references('gateways.id'))
    .addColumn('unit_address', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('meters_gateway_unit_unique', ['gateway_id', 'unit_address'])
    .execute();
  await db.schema.createIndex('meters_dormitory_idx').on('meters').column('dormitory_id').execute();

  await db.schema
    .createTable('circuits')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('meter_id', 'text', (c) => c.notNull().references('meters.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('lighting', 'socket', 'ac')`))
    .addColumn('settings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addUniqueConstraint('circuits_meter_kind_unique', ['meter_id', 'kind'])
    .execute();

  // The billing cursor: the last register value billed, stored in the same transaction as
  // the charges it produced (exactly-once billing across crashes).
  await db.schema
    .createTable('billing_cursors')
    .addColumn('meter_id', 'text', (c) => c.primaryKey().references('meters.id'))
    .addColumn('register', 'bigint', (c) => c.notNull())
    .addColumn('read_at', 'timestamptz', (c) => c.notNull())
    .addColumn('billing_state', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('ledger_entries')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('account_id', 'bigint', (c) => c.notNull().references('accounts.id'))
    .addColumn('dormitory_id', 'text', (c) => c.notNull())
    .addColumn('purse', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('recharge', 'refund', 'consumption_charge', 'quota_grant', 'adjustment', 'settlement')`),
    )
    .addColumn('amount', 'bigint', (c) => c.notNull())
    .addColumn('usage', 'bigint')
    .addColumn('balance_after', 'bigint', (c) => c.notNull())
    .addColumn('meter_id', 'text')
    .addColumn('reference', 'text')
    .addColumn('operator', 'text')
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('ledger_entries_account_idx').on('ledger_entries').columns(['account_id', 'id']).execute();
  await db.schema.createIndex('ledger_entries_dormitory_idx').on('ledger_entries').columns(['dormitory_id', 'id']).execute();
  // Append-only: the database itself refuses updates and deletes of ledger entries.
  await sql`
    create function ledger_entries_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'ledger_entries is append-only';
    end $$`.execute(db);
  await sql`
    create trigger ledger_entries_no_update before update or delete on ledger_entries
    for each row execute function ledger_entries_append_only()`.execute(db);

  await db.schema
    .createTable('recharges')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('reference', 'text', (c) => c.notNull().unique())
    .addColumn('dormitory_id', 'text', (c) => c.notNull().references('dormitories.id'))
    .addColumn('purse', 'text', (c) => c.notNull())
    .addColumn('amount', 'bigint', (c) => c.notNull().check(sql`amount > 0`))
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('ledger_entry_id', 'bigint', (c) => c.references('ledger_entries.id'))
    .addColumn('balance_after', 'bigint', (c) => c.notNull())
    .addColumn('operator', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('commands')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('dormitory_id', 'text', (c) => c.notNull())
    .addColumn('meter_id', 'text')
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('cut', 'restore')`))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('requested', 'sent', 'confirmed', 'failed')`))
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .addColumn('sent_at', 'timestamptz')
    .addColumn('completed_at', 'timestamptz')
    .addColumn('detail', 'text')
    .execute();
  await db.schema.createIndex('commands_dormitory_idx').on('commands').columns(['dormitory_id', 'requested_at']).execute();

  await db.schema
    .createTable('alarms')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('dormitory_id', 'text')
    .addColumn('meter_id', 'text')
    .addColumn('gateway_id', 'text')
    .addColumn('circuit', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull().defaultTo('warning'))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('active').check(sql`state in ('active', 'released', 'cleared')`))
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('evidence', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('raised_at', 'timestamptz', (c) => c.notNull())
    .addColumn('released_at', 'timestamptz')
    .addColumn('released_by', 'text')
    .execute();
  await db.schema.createIndex('alarms_state_idx').on('alarms').columns(['state', 'raised_at']).execute();

  await db.schema
    .createTable('events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('dormitory_id', 'text')
    .addColumn('meter_id', 'text')
    .addColumn('gateway_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('from_state', 'text')
    .addColumn('to_state', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_dormitory_idx').on('events').columns(['dormitory_id', 'occurred_at']).execute();

  await db.schema
    .createTable('calendars')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('campus_id', 'text', (c) => c.notNull().references('campuses.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('entries', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();

  // Rule and schedule settings per scope (campus or building), live-reloaded by the actors.
  await db.schema
    .createTable('rule_settings')
    .addColumn('scope', 'text', (c) => c.notNull().check(sql`scope in ('campus', 'building')`))
    .addColumn('scope_id', 'text', (c) => c.notNull())
    .addColumn('rule', 'text', (c) => c.notNull())
    .addColumn('config', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_by', 'text')
    .addPrimaryKeyConstraint('rule_settings_pk', ['scope', 'scope_id', 'rule'])
    .execute();

  await db.schema
    .createTable('appliance_signatures')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('campus_id', 'text', (c) => c.notNull().references('campuses.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('min_power_w', 'integer', (c) => c.notNull())
    .addColumn('max_power_w', 'integer', (c) => c.notNull())
    .addColumn('min_power_factor', 'real', (c) => c.notNull())
    .addColumn('max_power_factor', 'real', (c) => c.notNull())
    .addColumn('whitelisted', 'boolean', (c) => c.notNull().defaultTo(true))
    .execute();

  await db.schema
    .createTable('operators')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'manager', 'finance', 'student')`))
    .addColumn('dormitory_id', 'text', (c) => c.references('dormitories.id'))
    .addColumn('disabled', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('operator_id', 'bigint', (c) => c.notNull().references('operators.id'))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('operator', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('audit_log_target_idx').on('audit_log').columns(['target_type', 'target_id']).execute();

  await db.schema
    .createTable('actor_snapshots')
    .addColumn('actor_key', 'text', (c) => c.primaryKey())
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('interval_readings')
    .addColumn('meter_id', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull()) // 'main', 'lighting', 'socket', 'ac', 'water'
    .addColumn('interval_start', 'timestamptz', (c) => c.notNull())
    .addColumn('usage', 'bigint', (c) => c.notNull())
    .addColumn('max_power_w', 'integer')
    .addColumn('register_end', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('interval_readings_pk', ['meter_id', 'channel', 'interval_start'])
    .execute();

  // Multi-node ownership of gateways (DESIGN "Beyond one machine").
  await db.schema
    .createTable('gateway_leases')
    .addColumn('gateway_id', 'text', (c) => c.primaryKey())
    .addColumn('node_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'gateway_leases',
    'interval_readings',
    'actor_snapshots',
    'audit_log',
    'sessions',
    'operators',
    'appliance_signatures',
    'rule_settings',
    'calendars',
    'events',
    'alarms',
    'commands',
    'recharges',
    'ledger_entries',
    'billing_cursors',
    'circuits',
    'meters',
    'gateways',
    'accounts',
    'occupants',
    'dormitories',
    'free_quota_policies',
    'tariffs',
    'buildings',
    'campuses',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
  await sql`drop function if exists ledger_entries_append_only()`.execute(db);
}
