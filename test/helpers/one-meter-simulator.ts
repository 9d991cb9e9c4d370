import type { Test } from 'tap';
import { SimulatedClock } from '../../src/clock.ts';
import { SimulatorRuntime } from '../../src/simulator/simulator-runtime.ts';

/**
 * One simulated campus-1in3out meter (unit 1) of `dormitoryId` behind a Modbus TCP gateway, on
 * its own real-time clock, living in the test (it outlives a server the test kills). Answers the
 * simulator and the gateway's `host:port` for the `gateways.address` column.
 */
export async function oneMeterSimulator(t: Test, options: { seed: number; gatewayId: string; dormitoryId: string }): Promise<{ simulator: SimulatorRuntime; address: string }> {
  const clock = new SimulatedClock(Date.now(), 1);
  t.teardown(() => clock.dispose());
  const simulator = new SimulatorRuntime({
    description: {
      seed: options.seed,
      utcOffsetMinutes: 480,
      gateways: [{ gatewayId: options.gatewayId, protocol: 'modbus-tcp', meters: [{ unitAddress: '1', profile: 'campus-1in3out', dormitoryId: options.dormitoryId, initialEnergyWh: { lighting: 1000, socket: 1000, ac: 1000 }, furnished: false }] }],
    },
    clock,
  });
  const endpoints = await simulator.start();
  t.teardown(() => simulator.stop());
  const modbus = endpoints.gateways.get(options.gatewayId);
  if (modbus?.protocol !== 'modbus-tcp') throw new Error('no Modbus endpoint');
  return { simulator, address: `${modbus.host}:${modbus.port}` };
}
