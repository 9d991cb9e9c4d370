import type { BenchDriverHub, HandedCommand } from './bench-driver.ts';
import type { BenchRuntime } from './bench-runtime.ts';
import { unitKey, type SyntheticCampus } from './synthetic-campus.ts';
import { prng, type SyntheticMeter } from './synthetic-meter.ts';

/** A surge cuts all three circuits of the campus meter: three commands. */
export const CIRCUITS_PER_METER = 3;

/**
 * Drives a booted campus: advances the frozen clock one poll round at a time, injects each
 * meter's reading through its gateway's bench driver, makes the synthetic relays obey the
 * commands the driver is handed, and times watched readings to the cut commands they cause.
 */
export class CampusLoad {
  private readonly jitter = prng(7);
  /** decodedAtNs of a watched (surge) reading by unit, and the cut commands still expected from it. */
  private readonly watched = new Map<string, { decodedAtNs: bigint; remaining: number }>();
  /** Reading -> command latencies of watched readings, µs, one per command. */
  readonly latenciesUs: number[] = [];
  cutCommands = 0;

  constructor(
    readonly campus: SyntheticCampus,
    private readonly hub: BenchDriverHub,
    readonly rt: BenchRuntime,
  ) {
    hub.onCommand((handed) => this.commandHanded(handed));
  }

  get size(): number {
    return this.campus.meters.length;
  }

  /** Moves the clock `clockMs` on, to the next poll round, and returns its time. */
  nextRound(clockMs: number): number {
    this.rt.clock.advance(clockMs);
    return this.rt.clock.now();
  }

  /** Injects one meter's reading at `at`; returns its decodedAtNs. */
  inject(meter: SyntheticMeter, at: number): bigint {
    const reading = meter.read(at, (this.jitter() - 0.5) * 0.04);
    return this.hub.driver(meter.placement.gatewayId).inject(reading);
  }

  /** Injects a reading carrying a surge that takes the meter's dormitory below its cut-off, and watches it. */
  injectSurge(meter: SyntheticMeter, at: number, surgeWh: number): void {
    meter.surge(surgeWh);
    const ns = this.inject(meter, at);
    this.watched.set(unitKey(meter.placement.gatewayId, meter.placement.unitAddress), { decodedAtNs: ns, remaining: CIRCUITS_PER_METER });
  }

  private commandHanded(handed: HandedCommand): void {
    const { command } = handed;
    const key = unitKey(handed.gatewayId, command.unitAddress);
    this.campus.byUnit.get(key)?.setRelay(command.target, command.action === 'restore');
    if (command.action !== 'cut') return;
    this.cutCommands++;
    const watch = this.watched.get(key);
    if (!watch) return;
    this.latenciesUs.push(Number(handed.atNs - watch.decodedAtNs) / 1000);
    if (--watch.remaining === 0) this.watched.delete(key);
  }
}
