import type { MeterReading, SupplyAction, SupplyTarget } from '../domain/reading.ts';

/** The meter models a driver knows how to read (register maps in src/drivers/profiles). */
export type MeterProfileName = 'campus-1in3out' | 'sdm120' | 'acrel-ddsy1352' | 'water-valve';

export interface MeterEndpoint {
  /** Gateway-local address: Modbus unit id as a decimal string, or the MQTT device name. */
  readonly unitAddress: string;
  readonly profile: MeterProfileName;
}

export interface SupplyCommand {
  readonly commandId: string;
  readonly unitAddress: string;
  readonly target: SupplyTarget;
  readonly action: SupplyAction;
}

export type CommandOutcome = 'confirmed' | 'failed';

/**
 * Callbacks a driver makes into its gateway actor. They must be cheap and synchronous: the
 * gateway actor turns them into messages.
 */
export interface GatewayDriverListener {
  /** A frame was decoded. `decodedAtNs` is process.hrtime.bigint() at decode, for latency. */
  reading(reading: MeterReading, decodedAtNs: bigint): void;
  meterStatus(unitAddress: string, online: boolean): void;
  gatewayStatus(online: boolean): void;
  commandSent(commandId: string): void;
  /**
   * `interrupted`: the driver stopped (the server is shutting down) with the command in flight, so
   * its outcome is unknown, not a failure of the meter: no alarm; the restarted circuit reconciles
   * the relay from its first reading.
   */
  commandResult(commandId: string, outcome: CommandOutcome, detail: string, interrupted?: boolean): void;
  /** A frame or payload that could not be decoded: counted, logged and dropped. */
  frameRejected(reason: string, unitAddress?: string): void;
}

/**
 * One driver session per gateway. The constructor only assigns; `start()` and `stop()` own
 * sockets and timers. `send` never throws and never blocks: the outcome arrives through the
 * listener (sent, then confirmed by read-back or acknowledgement, or failed).
 */
export interface GatewayDriver {
  start(): Promise<void>;
  stop(): Promise<void>;
  setMeters(meters: readonly MeterEndpoint[]): void;
  send(command: SupplyCommand): void;
}
