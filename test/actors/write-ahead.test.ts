// CI: also on PGlite + the embedded broker (the write-ahead and the group commit share PGlite's single connection (the serialised dialect)).
import pino from 'pino';
import t from 'tap';
import { LedgerWriter, type CommandRecord } from '../../src/actors/ledger-writer.ts';
import type { ControlStateRecord } from '../../src/db/control-state.repository.ts';
import { initialReclosePolicyState } from '../../src/domain/rules/reclose-policy.ts';
import type { CutReason } from '../../src/domain/supply.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { smallCampus } from '../helpers/small-campus.ts';
import type { TestDatabase } from '../helpers/test-database.ts';

/**
 * LedgerWriter.writeAhead: a circuit's control state and its command record are committed at
 * once, ahead of a group commit that runs once a minute here; an older state of the same
 * circuit, queued or still on its way, never overwrites it; a 'requested' copy never regresses
 * a later lifecycle state; a database that is away or stuck never holds the caller past the
 * bounded wait, and the records wait in the group commit. PGlite, and PostgreSQL with DATABASE_URL.
 */
const KEY = 'circuit:m-d1:socket';


const control = (seq: number, reasons: CutReason[]): ControlStateRecord => ({
  dormitoryId: 'd1',
  actorKey: KEY,
  seq,
  state: { reasons, lowCurrentCut: false, acStandby: { phase: 'monitoring', since: null }, reclose: initialReclosePolicyState() },
});

const command = (id: string, state: CommandRecord['state']): CommandRecord => ({
  id,
  dormitoryId: 'd1',
  meterId: 'm-d1',
  target: 'socket',
  action: 'cut',
  reason: 'malignant_load',
  state,
  requestedBy: 'system',
  requestedAt: Date.parse('2026-10-01T00:00:00Z'),
});

const writerOf = (database: TestDatabase, writeAheadMaxWaitMs = 250, metrics = new Metrics()) =>
  new LedgerWriter({ db: database.db, log: pino({ level: 'silent' }), metrics, flushMs: 60_000, batchSize: 100_000, closeTimeoutMs: 300, writeAheadMaxWaitMs });

async function stored(database: TestDatabase): Promise<{ reasons: string[] | null; commands: { id: string; state: string }[] }> {
  const row = await database.db.selectFrom('control_states').select('state').where('actor_key', '=', KEY).executeTakeFirst();
  const commands = await database.db.selectFrom('commands').select(['id', 'state']).orderBy('id').execute();
  return { reasons: row ? (row.state as { reasons: string[] }).reasons : null, commands };
}

t.test('committed at once, ahead of the group commit; an older state and a late "requested" do not overwrite it', async (t) => {
  const database = await smallCampus(t, ['d1']);
  const writer = writerOf(database);
  writer.addControl(control(1, [])); // queued for the group commit, older than the cut's
  t.equal(await writer.writeAhead({ control: control(2, ['malignant_load']), command: command('c1', 'requested') }), 'committed');
  t.same(await stored(database), { reasons: ['malignant_load'], commands: [{ id: 'c1', state: 'requested' }] }, 'durable before any group commit');
  t.equal(writer.pending, 0, 'the older queued state was superseded, not left to overwrite it');

  writer.addControl(control(1, [])); // a stale copy still on its way through the ledger's mailbox
  writer.addCommand({ ...command('c1', 'confirmed'), completedAt: Date.parse('2026-10-01T00:00:01Z') });
  await writer.flushNow();
  t.same(await stored(database), { reasons: ['malignant_load'], commands: [{ id: 'c1', state: 'confirmed' }] }, 'the lifecycle moves on, the stale state is dropped');

  writer.addCommand(command('c1', 'requested')); // a write-ahead queued after a failure lands late
  t.equal(await writer.writeAhead({ command: command('c1', 'requested') }), 'committed', 'a second write-ahead of the same command inserts nothing');
  await writer.flushNow();
  t.same((await stored(database)).commands, [{ id: 'c1', state: 'confirmed' }], "'requested' never regresses a later state");

  writer.addControl(control(3, [])); // a newer state (the trip reclosed) goes by the group commit
  await writer.flushNow();
  t.same((await stored(database)).reasons, [], 'a newer state written by the group commit wins');
  await writer.close();
});

t.test('a burst of write-aheads commits in few transactions, every one of them durable', async (t) => {
  const database = await smallCampus(t, ['d1']);
  const metrics = new Metrics();
  const writer = writerOf(database, 250, metrics);
  const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => writer.writeAhead({ command: command(`b${String(i).padStart(2, '0')}`, 'requested') })));
  t.ok(outcomes.every((o) => o === 'committed'), 'all committed');
  t.equal((await stored(database)).commands.length, 50);
  const commits = (await metrics.writeAheadSeconds.get()).values.find((v) => v.metricName === 'campus_write_ahead_seconds_count')?.value ?? 0;
  t.ok(commits <= 2, `50 write-aheads in ${commits} transactions (the first alone, the rest together)`);
  await writer.close();
});

t.test('a database that is stuck: the caller waits only the bounded time, the commit lands when it can', async (t) => {
  const database = await smallCampus(t, ['d1']);
  const writer = writerOf(database, 50);
  t.equal(await writer.writeAhead({ control: control(1, []) }), 'committed');
  // Another transaction holds the circuit's row (on PGlite: the one connection).
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const lockTaken = new Promise<void>((resolve) => (locked = resolve));
  const blocker = database.db.transaction().execute(async (trx) => {
    await trx.updateTable('control_states').set({ updated_at: new Date() }).where('actor_key', '=', KEY).execute();
    locked();
    await held;
  });
  await lockTaken;
  t.equal(await writer.writeAhead({ control: control(2, ['malignant_load']), command: command('s1', 'requested') }), 'pending', 'the cut is not held behind the stuck database');
  release();
  await blocker;
  await writer.flushNow();
  t.same(await stored(database), { reasons: ['malignant_load'], commands: [{ id: 's1', state: 'requested' }] }, 'the write-ahead committed once the row was free');
  await writer.close();
});

t.test('a database that is away: the cut is not held, its records wait in the group commit', async (t) => {
  const database = await smallCampus(t, ['d1']);
  const writer = writerOf(database);
  await database.db.destroy(); // the connection is gone for good
  t.equal(await writer.writeAhead({ control: control(1, ['malignant_load']), command: command('a1', 'requested') }), 'queued', 'answered at once: the commit failed');
  t.equal(writer.pending, 2, 'the control state and the command record wait in the group commit');
  await t.rejects(writer.flushNow(), /batch kept for retry/);
  t.equal(await writer.writeAhead({ command: command('a2', 'requested') }), 'queued', 'while the writer waits for the database, a write-ahead does not even try');
  const report = await writer.close();
  t.same(report.unwritten.map((i) => i.kind).sort(), ['command', 'command', 'control'], 'close lists them with the rest');
});
