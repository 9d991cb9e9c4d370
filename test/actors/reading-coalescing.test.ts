import pino from 'pino';
import t from 'tap';
import { spawnGateway, type GatewayView, type MeterInbound } from '../../src/actors/gateway.actor.ts';
import { dispatch, query, spawnActor, start, stop, type Ref } from '../../src/actors/nact.ts';
import { resumeOnCrash } from '../../src/actors/actor-deps.ts';
import { SystemClock } from '../../src/clock.ts';
import type { ElectricReading } from '../../src/domain/reading.ts';
import type { GatewayDriver, GatewayDriverListener } from '../../src/drivers/gateway-driver.ts';
import { Metrics } from '../../src/metrics/metrics.ts';

/**
 * Readings go from the driver straight to their meter actor (the gateway is not a hop on that
 * path), and a meter's mailbox holds at most one reading: a newer reading of a meter whose last
 * one is still queued replaces it (registers are cumulative), counted in
 * campus_readings_coalesced_total. (Billing posts are spread by each dormitory's posting grid: test/domain/posting-schedule.test.ts.)
 */
const reading = (energyWh: number): ElectricReading => ({
  type: 'electric',
  unitAddress: '7',
  at: Date.now(),
  energyWh,
  voltageV: 230,
  currentA: 0,
  powerW: 0,
  powerFactor: 1,
  flags: { coverOpen: false, reverseConnection: false },
  alarmWord: 0,
  circuits: [],
});

t.test('five readings of one meter in one turn reach it as one message carrying the newest; four are counted as coalesced', async (t) => {
  const system = start();
  t.teardown(() => stop(system));
  const metrics = new Metrics();
  const deps = { clock: new SystemClock(), log: pino({ level: 'silent' }), metrics, postingIntervalMs: 60_000, commandRetryMs: 30_000, nodeId: 't' };
  const received: number[] = [];
  const meter = spawnActor<null, MeterInbound>(
    system,
    (state, msg) => {
      if (msg.type === 'ReadingArrived') {
        const newest = msg.slot?.reading ?? msg.reading;
        if (msg.slot) msg.slot.queued = false;
        if (newest.type === 'electric') received.push(newest.energyWh);
      }
      return state;
    },
    'meter.test',
    { initialState: null, onCrash: resumeOnCrash(deps, 'meter') },
  );
  let listener: GatewayDriverListener | undefined;
  const driver: GatewayDriver = { start: () => Promise.resolve(), stop: () => Promise.resolve(), setMeters: () => undefined, send: () => undefined };
  const gateway = spawnGateway(system, { gatewayId: 'GW-C', protocol: 'mqtt', ledger: system as Ref<never>, createDriver: (l) => ((listener = l), driver) }, deps);
  dispatch(gateway, { type: 'AttachMeter', endpoint: { unitAddress: '7', profile: 'campus-1in3out' }, dormitoryId: 'D', meter });
  await query(gateway, (replyTo: Ref<GatewayView>) => ({ type: 'GetGateway', replyTo }), 5_000);

  for (const energyWh of [100, 101, 102, 103, 104]) listener!.reading(reading(energyWh), process.hrtime.bigint());
  await query(meter as Ref<unknown>, () => ({ type: 'OnlineChanged', online: true, at: 0 }), 200).catch(() => undefined); // one more turn for the meter
  t.same(received, [104], 'the meter handled one reading, the newest');
  const coalesced = (await metrics.readingsCoalesced.get()).values[0]?.value;
  t.equal(coalesced, 4, 'campus_readings_coalesced_total counts the four replaced');

  listener!.reading(reading(105), process.hrtime.bigint());
  await query(meter as Ref<unknown>, () => ({ type: 'OnlineChanged', online: true, at: 0 }), 200).catch(() => undefined);
  t.same(received, [104, 105], 'once handled, the next reading is queued again');
});
