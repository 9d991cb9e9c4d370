import t from 'tap';
import { Registry } from 'prom-client';
import { EventLoopLag, EVENT_LOOP_SAMPLE_MS } from '../../src/metrics/event-loop-lag.ts';
import { createTestApp } from '../helpers/test-app.ts';

/** Busy-waits: the event loop can run nothing else meanwhile. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

/** Resolves after the sampler has taken `n` more samples (event-driven: it yields to timers until then). */
async function samples(lag: EventLoopLag, n: number): Promise<void> {
  const count = async () => (await lag.histogram.get()).values.find((v) => v.metricName === 'campus_event_loop_lag_seconds_count')?.value ?? 0;
  const target = (await count()) + n;
  while ((await count()) < target) await new Promise((resolve) => setTimeout(resolve, EVENT_LOOP_SAMPLE_MS));
}

t.test('a blocked event loop shows as one late sample in campus_event_loop_lag_seconds', async (t) => {
  const lag = new EventLoopLag(new Registry());
  lag.start();
  t.teardown(() => lag.stop());
  await samples(lag, 1);
  block(120);
  await samples(lag, 1);
  const values = (await lag.histogram.get()).values;
  const bucket = (le: number) => values.find((v) => v.metricName === 'campus_event_loop_lag_seconds_bucket' && v.labels.le === le)?.value ?? 0;
  const count = values.find((v) => v.metricName === 'campus_event_loop_lag_seconds_count')?.value ?? 0;
  t.ok(count - bucket(0.1) >= 1, `at least one sample later than 100 ms after a 120 ms block (count ${count}, <= 0.1 s: ${bucket(0.1)})`);
  lag.stop();
  const stopped = count;
  await new Promise((resolve) => setTimeout(resolve, EVENT_LOOP_SAMPLE_MS * 3));
  const after = (await lag.histogram.get()).values.find((v) => v.metricName === 'campus_event_loop_lag_seconds_count')?.value ?? 0;
  t.ok(after <= stopped + 1, 'stop() ends the sampling');
});

t.test('GET /api/metrics exports event-loop lag, CPU seconds and resident memory of the running app', async (t) => {
  const test = await createTestApp(t, { seedDemo: false });
  await test.app.start();
  block(60);
  await samples(test.app.metrics.eventLoopLag, 2);
  const response = await test.app.http.inject({ method: 'GET', url: '/api/metrics' });
  t.equal(response.statusCode, 200, 'metrics answer 200');
  const count = /^campus_event_loop_lag_seconds_count (\d+)/m.exec(response.body);
  t.ok(count && Number(count[1]) >= 2, 'campus_event_loop_lag_seconds has samples');
  t.match(response.body, /^campus_event_loop_lag_seconds_bucket\{le="0.02"\} \d+/m, 'a bucket at the 20 ms target');
  const cpu = /^process_cpu_seconds_total ([\d.e+-]+)/m.exec(response.body);
  t.ok(cpu && Number(cpu[1]) > 0, 'process_cpu_seconds_total is exported');
  const rss = /^process_resident_memory_bytes (\d+)/m.exec(response.body);
  t.ok(rss && Number(rss[1]) > 10_000_000, 'process_resident_memory_bytes is exported');
  t.match(response.body, /^# TYPE nodejs_gc_pause_seconds histogram$/m, 'nodejs_gc_pause_seconds is exported');
});
