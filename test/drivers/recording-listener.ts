import type { CommandOutcome, GatewayDriverListener } from '../../src/drivers/gateway-driver.ts';
import type { MeterReading } from '../../src/domain/reading.ts';

export type DriverEvent =
  | { type: 'reading'; reading: MeterReading; decodedAtNs: bigint }
  | { type: 'meterStatus'; unitAddress: string; online: boolean }
  | { type: 'gatewayStatus'; online: boolean }
  | { type: 'commandSent'; commandId: string }
  | { type: 'commandResult'; commandId: string; outcome: CommandOutcome; detail: string; interrupted?: true }
  | { type: 'frameRejected'; reason: string; unitAddress: string | undefined };

/** Records every listener call, in order, and when (monotonic), and lets a test wait for one. */
export class RecordingListener implements GatewayDriverListener {
  readonly events: DriverEvent[] = [];
  private readonly stamps = new WeakMap<DriverEvent, number>();

  private record(event: DriverEvent): void {
    this.stamps.set(event, performance.now());
    this.events.push(event);
  }

  /** When the event was recorded: performance.now() (monotonic, as the driver's pacing), in ms. */
  atMs(event: DriverEvent): number {
    const at = this.stamps.get(event);
    if (at === undefined) throw new Error('not an event of this listener');
    return at;
  }

  reading(reading: MeterReading, decodedAtNs: bigint): void {
    this.record({ type: 'reading', reading, decodedAtNs });
  }
  meterStatus(unitAddress: string, online: boolean): void {
    this.record({ type: 'meterStatus', unitAddress, online });
  }
  gatewayStatus(online: boolean): void {
    this.record({ type: 'gatewayStatus', online });
  }
  commandSent(commandId: string): void {
    this.record({ type: 'commandSent', commandId });
  }
  commandResult(commandId: string, outcome: CommandOutcome, detail: string, interrupted?: boolean): void {
    this.record({ type: 'commandResult', commandId, outcome, detail, ...(interrupted === true ? { interrupted: true as const } : {}) });
  }
  frameRejected(reason: string, unitAddress?: string): void {
    this.record({ type: 'frameRejected', reason, unitAddress });
  }

  of<K extends DriverEvent['type']>(type: K): Extract<DriverEvent, { type: K }>[] {
    return this.events.filter((e): e is Extract<DriverEvent, { type: K }> => e.type === type);
  }

  /** Resolves with the first event from index `from` on that matches, or rejects after `timeoutMs`. */
  async waitFor<K extends DriverEvent['type']>(
    type: K,
    match: (event: Extract<DriverEvent, { type: K }>) => boolean = () => true,
    timeoutMs = 5000,
    from = 0,
  ): Promise<Extract<DriverEvent, { type: K }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events
        .slice(from)
        .find((e): e is Extract<DriverEvent, { type: K }> => e.type === type && match(e as Extract<DriverEvent, { type: K }>));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${type} event within ${timeoutMs} ms; saw ${JSON.stringify(this.summary())}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Compact event log for failure messages. */
  summary(): string[] {
    return this.events.slice(-30).map((e) => {
      switch (e.type) {
        case 'reading':
          return `reading ${e.reading.unitAddress}`;
        case 'meterStatus':
          return `meter ${e.unitAddress} ${e.online ? 'online' : 'offline'}`;
        case 'gatewayStatus':
          return `gateway ${e.online ? 'online' : 'offline'}`;
        case 'commandSent':
          return `sent ${e.commandId}`;
        case 'commandResult':
          return `result ${e.commandId} ${e.outcome} ${e.detail}`;
        case 'frameRejected':
          return `rejected ${e.unitAddress ?? '-'} ${e.reason}`;
      }
    });
  }
}
