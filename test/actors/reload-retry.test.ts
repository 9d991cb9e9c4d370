import t from 'tap';
import { startLiveApp, waitFor } from '../helpers/live-app.ts';
import { databaseAway } from '../helpers/database-away.ts';

/**
 * A reload stops a dormitory's meters from billing (they are retired), commits their charges,
 * then starts the dormitory again from the database. One that fails part way (the commit refused,
 * the dormitory too busy to answer: an outside attack got 503 ACTOR_BUSY removing a meter under
 * load) left the dormitory running with retired meters until the next restart: no charge and no
 * rule saw their readings. It now runs again in the background until it succeeds.
 */
t.test('a reload that failed part way runs again until the dormitory reads and bills again', async (t) => {
  let away: ReturnType<typeof databaseAway> | undefined;
  const test = await startLiveApp(t, {}, { quietAtBoot: true, appDb: (db) => (away = databaseAway(db)).db });
  const { app } = test;
  // From the actor (the database is refused for a while): undefined while the dormitory is stopped.
  const reading = async () => (await app.runtime.liveDormitory('A-117'))?.lastReadingAt ?? null;
  const first = await waitFor('A-117 reading', async () => (await reading()) ?? false);

  away!.down();
  await t.rejects(app.runtime.reloadDormitory('A-117'), 'the reload fails: the database refuses it');
  t.ok(away!.refused() > 0, 'the database refused its queries');
  // Its meters retired (or the dormitory stopped): no reading reaches it any more.
  const frozen = (await reading()) ?? first;

  away!.up();
  const resumed = await waitFor('A-117 reading again after the database is back, with no one asking', async () => {
    const at = await reading();
    return at !== null && at > frozen ? at : false;
  });
  t.ok(resumed > frozen, `readings reach the dormitory again (${frozen} -> ${resumed})`);
  await app.runtime.flushBilling(['A-117']);
  t.pass('and its billing commits');
});
