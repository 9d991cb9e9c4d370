import type { GatewayTopology } from '../src/db/topology.repository.ts';
import type { MeterReading } from '../src/domain/reading.ts';
import type { GatewayDriver, GatewayDriverListener, MeterEndpoint, SupplyCommand } from '../src/drivers/gateway-driver.ts';

/** A command as the driver received it, with process.hrtime.bigint() at hand-over. */
export interface HandedCommand {
  readonly gatewayId: string;
  readonly command: SupplyCommand;
  readonly atNs: bigint;
}

/**
 * An in-process driver session: no sockets, no decoding. The bench hands it readings that
 * count as decoded the moment they are injected (`decodedAtNs` = now), and every command
 * it is sent is confirmed at once. What remains between injection and `send` is the actor
 * hot path alone, which is what DESIGN.md's latency is measured over.
 */
export class BenchDriver implements GatewayDriver {
  private meterCount = 0;

  constructor(
    readonly gatewayId: string,
    private readonly listener: GatewayDriverListener,
    private readonly onCommand: (handed: HandedCommand) => void,
  ) {}

  get meters(): number {
    return this.meterCount;
  }

  start(): Promise<void> {
    this.listener.gatewayStatus(true);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  setMeters(meters: readonly MeterEndpoint[]): void {
    this.meterCount = meters.length;
  }

  send(command: SupplyCommand): void {
    const atNs = process.hrtime.bigint();
    this.onCommand({ gatewayId: this.gatewayId, command, atNs });
    this.listener.commandSent(command.commandId);
    this.listener.commandResult(command.commandId, 'confirmed', 'bench driver: confirmed at once');
  }

  /** Hands a reading to the gateway actor as if just decoded; returns its decodedAtNs. */
  inject(reading: MeterReading): bigint {
    const decodedAtNs = process.hrtime.bigint();
    this.listener.reading(reading, decodedAtNs);
    return decodedAtNs;
  }
}

/** Builds a BenchDriver per gateway (CampusRuntime's `createDriver`) and finds them again. */
export class BenchDriverHub {
  private readonly drivers = new Map<string, BenchDriver>();
  private readonly commandListeners = new Set<(handed: HandedCommand) => void>();
  commandsHanded = 0;

  readonly createDriver = (gateway: GatewayTopology, listener: GatewayDriverListener): GatewayDriver => {
    const driver = new BenchDriver(gateway.id, listener, (handed) => {
      this.commandsHanded++;
      for (const l of this.commandListeners) l(handed);
    });
    this.drivers.set(gateway.id, driver);
    return driver;
  };

  driver(gatewayId: string): BenchDriver {
    const driver = this.drivers.get(gatewayId);
    if (!driver) throw new Error(`bench: no driver for gateway ${gatewayId}`);
    return driver;
  }

  /** Meters attached to all gateways so far (the tree is booted when this reaches the campus size). */
  attachedMeters(): number {
    let n = 0;
    for (const d of this.drivers.values()) n += d.meters;
    return n;
  }

  onCommand(listener: (handed: HandedCommand) => void): () => void {
    this.commandListeners.add(listener);
    return () => this.commandListeners.delete(listener);
  }
}
