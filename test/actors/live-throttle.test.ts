import t from 'tap';
import { waitFor } from '../helpers/live-app.ts';
import { issue, live, playGateway, startCampus } from '../helpers/mqtt-gateway-campus.ts';

/**
 * The live feed coalesces (its hub flushes the dormitories that changed every 250 ms, each at its
 * latest state), and a change made between flushes is shown by the next flush. It once was not:
 * a dormitory throttled itself to a publish a second, and the last reading before a meter went
 * quiet (or a gateway sent nothing more) stayed unshown on the control room's map until something
 * else changed the room.
 */
t.test('the last reading inside the live throttle window reaches the live feed without a later reading', async (t) => {
  const campus = await startCampus(t);
  const { secret } = (await issue(campus, 'GW-A')).json<{ secret: string }>();
  const gateway = await playGateway(t, campus, 'GW-A', secret);
  await waitFor('A-1 online', async () => (await live(campus, 'A-1')).online);
  gateway.pause();
  const shown = () => campus.app.runtime.live.get('A-1')?.lastReadingAt ?? null;
  const published: { lastReadingAt: number | null; online: boolean }[] = [];
  t.teardown(campus.app.runtime.live.subscribe((changed) => published.push(...changed.filter((d) => d.id === 'A-1').map((d) => ({ lastReadingAt: d.lastReadingAt, online: d.online })))));

  const first = Date.now() + 1;
  await new Promise((resolve) => setTimeout(resolve, 2));
  await gateway.frame(gateway.relays, first);
  await waitFor('the first quiet frame on the live feed', () => shown() === first);
  // Published a moment ago: this one falls inside the window, and no frame follows it.
  const last = first + 50;
  await new Promise((resolve) => setTimeout(resolve, 51));
  await gateway.frame(gateway.relays, last);
  await waitFor('the dormitory holds the last frame', async () => ((await live(campus, 'A-1')) as unknown as { lastReadingAt: number | null }).lastReadingAt === last);
  await waitFor('the live feed shows the last frame', () => published.some((d) => d.lastReadingAt === last));
  // Not by the meter going stale seconds later (that publishes at once, as offline): while online.
  t.same(published.find((d) => d.lastReadingAt === last), { lastReadingAt: last, online: true }, 'published when the window ended, the meter still online');
});
