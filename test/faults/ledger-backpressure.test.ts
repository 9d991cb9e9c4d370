import pino from 'pino';
import t from 'tap';
import { LedgerWriter } from '../../src/actors/ledger-writer.ts';
import { balancesOf, findBalanceMismatches } from '../../src/db/ledger.repository.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { metricValue, quietRules, waitFor } from '../helpers/live-app.ts';
import { proxiedPostgresApp, runSteadyLoad } from '../helpers/proxied-postgres-app.ts';
import { ADMIN_PASSWORD } from '../helpers/test-app.ts';
import { createTestDatabase } from '../helpers/test-database.ts';

/**
 * Issue 13: commits off the hot path, and a bounded ledger batch while the database is away.
 * Money is never dropped (a dormitory keeps each meter's charge pending, growing in place, and
 * posts it once the ledger lets go); snapshots (control states, dormitory states, cursors) are
 * one per key; a backlog commits in slices.
 */

const databaseUrl = process.env.DATABASE_URL;

t.test('a backlog commits in slices of maxCommitItems; over maxPendingItems backpressure is engaged', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const metrics = new Metrics();
  const writer = new LedgerWriter({ db: database.db, log: pino({ level: 'silent' }), metrics, flushMs: 60_000, batchSize: 100_000, maxPendingItems: 100, maxCommitItems: 40 });
  for (let i = 0; i < 250; i++) writer.addAudit({ operator: 'system', action: 'test.backlog', targetType: 'test', targetId: String(i), details: { i } });
  for (let i = 0; i < 1000; i++) writer.setDormitoryState(`d${i % 5}`, i % 2 ? 'normal' : 'low_balance');
  t.equal(writer.pending, 255, 'a thousand state changes of five dormitories hold five items (snapshots coalesce)');
  t.equal(writer.backpressure, true, 'over maxPendingItems: backpressure');
  t.match(await metrics.render(), /campus_ledger_backpressure 1/);
  t.match(await metrics.render(), /campus_ledger_pending_items\{kind="audit"\} 250/);

  await writer.flushNow();
  t.equal(writer.pending, 0, 'flushNow commits every slice of what was buffered');
  t.equal(writer.backpressure, false);
  const commits = (await metrics.ledgerBatchSize.get()).values.find((v) => v.metricName === 'campus_ledger_batch_size_count')?.value;
  t.equal(commits, 7, '255 items in slices of 40: seven transactions');
  const audit = await database.db.selectFrom('audit_log').select('target_id').where('action', '=', 'test.backlog').orderBy('id').execute();
  t.same(audit.map((r) => Number(r.target_id)), Array.from({ length: 250 }, (_, i) => i), 'every item committed, in order');
  await writer.close();
});

t.test('a database outage: charges wait on the meters, snapshots stay one per key, and no charge is lost', { skip: databaseUrl ? false : 'needs DATABASE_URL (a real PostgreSQL behind a TCP proxy)' }, async (t) => {
  // Every reading that advances a register is due for posting (BILLING_POST_INTERVAL_MS 0; the
  // campus clock at 30x, so registers advance often): without backpressure each one would add a
  // billing record to the batch for as long as the database is away.
  const { app, proxy, direct } = await proxiedPostgresApp(t, { env: { SIMULATOR_SPEED: '30' }, name: 'backpressure' });
  await app.start();
  const login = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'admin', password: ADMIN_PASSWORD } });
  const admin = { authorization: `Bearer ${login.json<{ token: string }>().token}` };
  await quietRules({ app, admin });
  // Registers must advance whatever the hour: in a quiet window of the campus's rhythm every room draws only its 5 W
  // standby (a first whole Wh 24 s away at 30x, then all 200 rooms at once every 24 s), so 20 rooms run an air conditioner.
  // The air conditioners alone (at 30x their 8-minute off-cycle is 16 s): the laptops' extra energy took rooms across balance
  // thresholds during the outage (state changes, events, audit), which this test counts as history that must not grow.
  runSteadyLoad(app, [...app.runtime.directory.dormitories.keys()].sort().slice(0, 20), 0);
  const charges = async () => Number((await direct.selectFrom('ledger_entries').select((eb) => eb.fn.countAll<number>().as('n')).where('kind', '=', 'consumption_charge').executeTakeFirstOrThrow()).n);
  await waitFor('consumption charges committed', async () => (await charges()) > 0);
  const dormitories = [...app.runtime.directory.dormitories.keys()];
  const handled = () => metricValue({ app }, 'campus_readings_handled_total');
  const deferred = () => metricValue({ app }, 'campus_ledger_postings_deferred_total');

  proxy.down();
  await waitFor('the ledger waiting for the database', () => app.runtime.ledgerStatus.waitingForDatabase);
  t.equal(app.runtime.ledgerStatus.backpressure, true, 'backpressure is engaged while the database is away');
  const committedBefore = await charges();
  // Two looks, hundreds of held-back postings apart: the buffer must not grow between them.
  await waitFor('200 postings held back', async () => (await deferred()) >= 200, 60_000);
  const first = app.runtime.ledgerPendingByKind;
  const deferredAtFirst = await deferred();
  await waitFor('400 more postings held back', async () => (await deferred()) >= deferredAtFirst + 400, 60_000);
  const second = app.runtime.ledgerPendingByKind;
  t.ok(second.billing <= first.billing, `billing records buffered do not grow (${first.billing} -> ${second.billing}); the charges wait on the meters`);
  t.ok(second.event + second.audit + second.alarm + second.command <= first.event + first.audit + first.alarm + first.command + 50, `history records grow only with what happens (events, audit: ${JSON.stringify(first)} -> ${JSON.stringify(second)})`);
  t.ok(second.state <= dormitories.length, `dormitory states: one per dormitory at most (${second.state})`);
  t.ok(second.control <= first.control + dormitories.length * 6, `control states: one per dormitory and actor at most (${first.control} -> ${second.control})`);
  t.equal(await metricValue({ app }, 'campus_ledger_backpressure'), 1);
  t.equal(await charges(), committedBefore, 'nothing reaches the database meanwhile');

  proxy.up();
  await waitFor('the ledger committing again', () => !app.runtime.ledgerStatus.waitingForDatabase, 60_000);
  // Quiesce: every gateway of the simulator goes silent, then every pending charge is posted and committed.
  for (const gateway of app.simulator!.campus.gateways()) app.simulator!.setGatewayOnline(gateway.gatewayId, false);
  const settled = await waitFor('no reading handled for a second', async () => {
    const before = await handled();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return (await handled()) === before;
  }, 60_000, 0);
  t.ok(settled, 'readings stopped');
  await app.runtime.flush();
  t.ok((await charges()) > committedBefore, 'the outage\'s charges are committed after it');
  t.equal(app.runtime.ledgerStatus.backpressure, false, 'backpressure released');
  t.same((await findBalanceMismatches(direct)).mismatches, [], 'every cached balance is the sum of its ledger entries');
  const ledger = await balancesOf(direct, dormitories);
  const differing: string[] = [];
  for (const id of dormitories) {
    const live = await app.runtime.liveDormitory(id);
    if (live && live.balance.electricity !== ledger.get(id)?.electricity) differing.push(`${id}: live ${live.balance.electricity}, ledger ${ledger.get(id)?.electricity}`);
  }
  t.same(differing, [], `no charge lost: the live balance of each of ${dormitories.length} dormitories equals its ledger`);
  t.equal((await direct.selectFrom('ledger_dead_letters').select('id').execute()).length, 0, 'nothing dead-lettered');
});
