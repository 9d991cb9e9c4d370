import type { Clock } from '../src/clock.ts';
import type { SimulatedGatewayView, SimulatedMeterView } from '../src/simulator/simulated-gateway.ts';
import type { SyntheticMeter } from './synthetic-meter.ts';

/** Synthetic meters behind one gateway, as the simulator's protocol front-ends expect them. */
export class SyntheticGatewayView implements SimulatedGatewayView {
  readonly online = true;
  private readonly views: readonly SimulatedMeterView[];

  constructor(
    readonly gatewayId: string,
    meters: readonly SyntheticMeter[],
    clock: Clock,
  ) {
    this.views = meters.map((meter) => ({
      unitAddress: meter.placement.unitAddress,
      profile: 'campus-1in3out',
      read: () => meter.read(clock.now(), 0),
      setSupply: (target, closed) => meter.setRelay(target, closed),
    }));
  }

  meters(): readonly SimulatedMeterView[] {
    return this.views;
  }

  meter(unitAddress: string): SimulatedMeterView | undefined {
    return this.views.find((v) => v.unitAddress === unitAddress);
  }

  onOnlineChange(): () => void {
    return () => undefined;
  }
}
