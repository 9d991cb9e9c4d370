import t from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { SimulatedCampus, type SimulatedGatewayDescription } from '../../src/simulator/simulated-campus.ts';

/**
 * Cost guards, generous so a busy CI machine passes: the design target is a few percent
 * of a core for 10,000 meters read every second at 1x (lazy integration, no timers).
 */
function campusOf(meterCount: number, clock: SimulatedClock): SimulatedCampus {
  const perGateway = 200;
  const gateways: SimulatedGatewayDescription[] = [];
  for (let g = 0; g * perGateway < meterCount; g++) {
    gateways.push({
      gatewayId: `gw-${g}`,
      protocol: g % 2 === 0 ? 'modbus-tcp' : 'mqtt',
      meters: Array.from({ length: Math.min(perGateway, meterCount - g * perGateway) }, (_, m) => ({
        unitAddress: String(m + 1),
        profile: 'campus-1in3out' as const,
        dormitoryId: `d-${g}-${m}`,
      })),
    });
  }
  return new SimulatedCampus({ gateways, seed: 1 }, clock);
}

function msPerRound(campus: SimulatedCampus, clock: SimulatedClock, stepMs: number, rounds: number): number {
  const meters = campus.gateways().flatMap((g) => g.meters());
  const started = performance.now();
  for (let r = 0; r < rounds; r++) {
    clock.advance(stepMs);
    for (const meter of meters) meter.read();
  }
  return (performance.now() - started) / rounds;
}

t.test('10,000 meters read once a simulated second cost well under a core', async (t) => {
  const clock = new SimulatedClock(Date.parse('2025-07-15T20:00:00+08:00'), 0);
  const built = performance.now();
  const campus = campusOf(10_000, clock);
  const buildMs = performance.now() - built;
  t.ok(buildMs < 5000, `built 10,000 furnished rooms in ${buildMs.toFixed(0)} ms`);
  msPerRound(campus, clock, 1000, 2); // warm up
  const ms = msPerRound(campus, clock, 1000, 10);
  t.ok(ms < 400, `10,000 reads per simulated second at 1x: ${ms.toFixed(1)} ms per round`);
  t.equal(campus.status().meterCount, 10_000);
});

t.test('200 rooms at 3600x (an hour per read) stay cheap', async (t) => {
  const clock = new SimulatedClock(Date.parse('2025-07-15T00:00:00+08:00'), 0);
  const campus = campusOf(200, clock);
  const ms = msPerRound(campus, clock, 3_600_000, 24);
  t.ok(ms < 100, `200 reads of a simulated hour each: ${ms.toFixed(1)} ms per round`);
});
