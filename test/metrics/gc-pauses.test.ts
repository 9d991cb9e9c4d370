import { Registry } from 'prom-client';
import t from 'tap';
import { GcPauses } from '../../src/metrics/gc-pauses.ts';

const countOf = async (pauses: GcPauses, kind: string): Promise<number> =>
  (await pauses.histogram.get()).values.find((v) => v.metricName === 'nodejs_gc_pause_seconds_count' && v.labels.kind === kind)?.value ?? 0;

/** Short-lived garbage: enough young-generation allocation for several scavenges. */
function churn(): number {
  let kept = 0;
  for (let i = 0; i < 400_000; i++) kept += [i, { i, s: `x${i}` }].length;
  return kept;
}

t.test('collector pauses are observed by kind between start and stop, and not outside', async (t) => {
  const pauses = new GcPauses(new Registry());
  churn();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(await countOf(pauses, 'minor'), 0, 'nothing is observed before start');

  pauses.start();
  t.teardown(() => pauses.stop());
  // gc entries are delivered asynchronously: churn until the first scavenge shows.
  for (let round = 0; (await countOf(pauses, 'minor')) === 0; round++) {
    if (round === 200) return void t.fail('no minor collection observed after 200 rounds of allocation');
    churn();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const values = (await pauses.histogram.get()).values;
  const sum = values.find((v) => v.metricName === 'nodejs_gc_pause_seconds_sum' && v.labels.kind === 'minor')?.value ?? 0;
  t.ok(sum > 0 && sum < 10, `the pauses have durations in seconds (${sum})`);

  pauses.stop();
  await new Promise((resolve) => setTimeout(resolve, 20));
  const stopped = await countOf(pauses, 'minor');
  for (let i = 0; i < 5; i++) churn();
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(await countOf(pauses, 'minor'), stopped, 'nothing is observed after stop');
});
