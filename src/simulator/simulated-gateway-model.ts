/**
 * A simulated gateway: the meters behind it and whether it is reachable. The protocol
 * front-ends (Modbus TCP server, MQTT publisher) expose it through SimulatedGatewayView.
 * Dropping a gateway stops its answers, not its meters' physics: registers keep counting.
 */
import type { SimulatedGatewayView } from './simulated-gateway.ts';
import type { SimulatedElectricMeter } from './simulated-electric-meter.ts';
import type { SimulatedWaterMeter } from './simulated-water-meter.ts';

export type GatewayProtocol = 'modbus-tcp' | 'mqtt';
export type SimulatedMeter = SimulatedElectricMeter | SimulatedWaterMeter;

export class SimulatedGatewayModel implements SimulatedGatewayView {
  private readonly byAddress = new Map<string, SimulatedMeter>();
  /** Rebuilt on change only: front-ends call meters() on every publish. */
  private list: readonly SimulatedMeter[] = [];
  private isOnline = true;
  private readonly listeners = new Set<(online: boolean) => void>();

  constructor(
    readonly gatewayId: string,
    readonly protocol: GatewayProtocol,
  ) {}

  get online(): boolean {
    return this.isOnline;
  }

  meters(): readonly SimulatedMeter[] {
    return this.list;
  }

  meter(unitAddress: string): SimulatedMeter | undefined {
    return this.byAddress.get(unitAddress);
  }

  /** Adds a meter; throws if its unit address is taken on this gateway. */
  addMeter(meter: SimulatedMeter): void {
    if (this.byAddress.has(meter.unitAddress)) {
      throw new RangeError(`gateway ${this.gatewayId} already has a meter at unit address ${meter.unitAddress}`);
    }
    this.byAddress.set(meter.unitAddress, meter);
    this.list = [...this.byAddress.values()];
  }

  /** Removes a meter; returns it, or undefined if there was none at that address. */
  removeMeter(unitAddress: string): SimulatedMeter | undefined {
    const meter = this.byAddress.get(unitAddress);
    if (!meter) return undefined;
    this.byAddress.delete(unitAddress);
    this.list = [...this.byAddress.values()];
    return meter;
  }

  /**
   * Drops (`false`) or restores the gateway. Listeners hear only real changes; a listener
   * that throws does not keep the others from hearing (its error is rethrown after).
   */
  setOnline(online: boolean): void {
    if (online === this.isOnline) return;
    this.isOnline = online;
    const errors: unknown[] = [];
    for (const listener of [...this.listeners]) {
      try {
        listener(online);
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} online listeners of ${this.gatewayId} failed`);
  }

  onOnlineChange(listener: (online: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
