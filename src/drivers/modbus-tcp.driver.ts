import type { Clock } from '../clock.ts';
import type { GatewayDriver, GatewayDriverListener, MeterEndpoint, SupplyCommand } from './gateway-driver.ts';
import { ModbusCommandQueue, type QueuedCommand } from './modbus-command-queue.ts';
import { ModbusConnection } from './modbus-connection.ts';
import { classifyRequestError, type RequestFailure } from './modbus-request-failure.ts';
import { parseUnitId } from './modbus-unit-id.ts';
import { MODBUS_EXCEPTION, meterProfile, type MeterProfile, type SupplyWrite } from './profiles/index.ts';

export interface ModbusTcpDriverOptions {
  readonly host: string;
  readonly port: number;
  /** Stamps `reading.at`. Pacing and timeouts are real time (this is the I/O edge). */
  readonly clock: Clock;
  readonly listener: GatewayDriverListener;
  /** Start of one poll cycle to the next (every meter read once per cycle). */
  readonly pollIntervalMs?: number;
  /** Every request fails after this long without a reply. */
  readonly requestTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  /** Extra attempts of a poll request after a timeout or malformed reply. */
  readonly pollRetries?: number;
  /** Consecutive failed polls after which a meter is reported offline. */
  readonly offlineAfterFailedPolls?: number;
  /** Write + read-back attempts before a command is reported failed. */
  readonly commandAttempts?: number;
  readonly commandRetryDelayMs?: number;
  /** Reconnect backoff: doubles from min to max after each failure, reset by a reply. */
  readonly reconnectMinDelayMs?: number;
  readonly reconnectMaxDelayMs?: number;
  /** Consecutive request timeouts after which the connection is dropped and reopened. */
  readonly reconnectAfterTimeouts?: number;
  /** Unexpected internal errors (bugs), for the log. The loop survives them. */
  readonly onError?: (error: unknown) => void;
}

export const MODBUS_TCP_DRIVER_DEFAULTS = Object.freeze({
  pollIntervalMs: 1000,
  requestTimeoutMs: 500,
  connectTimeoutMs: 2000,
  pollRetries: 1,
  offlineAfterFailedPolls: 3,
  commandAttempts: 3,
  commandRetryDelayMs: 250,
  reconnectMinDelayMs: 250,
  reconnectMaxDelayMs: 30_000,
  reconnectAfterTimeouts: 3,
});

type Settings = typeof MODBUS_TCP_DRIVER_DEFAULTS;

interface MeterSlot {
  readonly unitAddress: string;
  readonly unitId: number;
  readonly profile: MeterProfile;
  failedPolls: number;
  /** undefined until the first transition is reported. */
  online: boolean | undefined;
}

type Exchange<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: RequestFailure };

const now = (): number => performance.now();

/** Illegal function / data address / data value: the meter will never accept the write. */
const DEFINITIVE_EXCEPTIONS: ReadonlySet<number> = new Set([
  MODBUS_EXCEPTION.illegalFunction,
  MODBUS_EXCEPTION.illegalDataAddress,
  MODBUS_EXCEPTION.illegalDataValue,
]);

/**
 * One Modbus TCP connection to one gateway; meters behind it by unit id. A single loop owns
 * the connection and issues strictly one request at a time: poll cycles every
 * `pollIntervalMs`, with queued supply commands interleaved (one command, one poll).
 */
export class ModbusTcpDriver implements GatewayDriver {
  private readonly settings: Settings;
  private readonly listener: GatewayDriverListener;
  private meters = new Map<number, MeterSlot>();
  private readonly commands = new ModbusCommandQueue();
  private pollQueue: number[] = [];
  private commandTurn = true;
  private running = false;
  private loop: Promise<void> | undefined;
  private abort: AbortController | undefined;
  private connection: ModbusConnection | undefined;
  private connectionToken: object | undefined;
  private inFlightUnit: string | undefined;
  private gatewayOnline: boolean | undefined;
  private consecutiveTimeouts = 0;
  private reconnectDelayMs: number;
  private nextConnectAtMs = 0;
  private nextCycleAtMs = 0;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wakeSleeper: (() => void) | undefined;

  constructor(private readonly options: ModbusTcpDriverOptions) {
    this.settings = { ...MODBUS_TCP_DRIVER_DEFAULTS, ...definedOnly(options) };
    this.listener = shielded(options.listener, options.onError);
    this.reconnectDelayMs = this.settings.reconnectMinDelayMs;
  }

  async start(): Promise<void> {
    if (this.loop) return;
    this.running = true;
    this.abort = new AbortController();
    // A restarted driver reports every status afresh.
    this.gatewayOnline = undefined;
    for (const slot of this.meters.values()) {
      slot.online = undefined;
      slot.failedPolls = 0;
    }
    this.nextConnectAtMs = now();
    this.nextCycleAtMs = now();
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.loop) return;
    this.running = false;
    this.abort?.abort();
    this.connection?.close();
    this.wake();
    await this.loop;
    this.loop = undefined;
    this.connection = undefined;
    this.pollQueue = [];
    for (const item of this.commands.drain()) {
      this.listener.commandResult(item.command.commandId, 'failed', 'driver stopped', true);
    }
  }

  /** Throws RangeError on a unit address that is not a Modbus unit id, or a duplicate. */
  setMeters(meters: readonly MeterEndpoint[]): void {
    const next = new Map<number, MeterSlot>();
    for (const endpoint of meters) {
      const unitId = parseUnitId(endpoint.unitAddress);
      if (unitId === undefined) throw new RangeError(`unit address "${endpoint.unitAddress}" is not a Modbus unit id 1..247`);
      if (next.has(unitId)) throw new RangeError(`unit address ${endpoint.unitAddress} appears twice`);
      const profile = meterProfile(endpoint.profile);
      if (!profile) throw new RangeError(`unknown meter profile "${endpoint.profile}"`);
      const current = this.meters.get(unitId);
      next.set(
        unitId,
        current && current.profile === profile ? current : { unitAddress: endpoint.unitAddress, unitId, profile, failedPolls: 0, online: undefined },
      );
    }
    this.meters = next;
    this.wake();
  }

  send(command: SupplyCommand): void {
    const { listener } = this;
    if (!this.running) {
      queueMicrotask(() => listener.commandResult(command.commandId, 'failed', 'driver not running'));
      return;
    }
    const superseded = this.commands.add(command, now());
    if (superseded) listener.commandResult(superseded.command.commandId, 'failed', `superseded by ${command.commandId}`);
    this.wake();
  }

  // ---- the loop -------------------------------------------------------------------------

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.step();
      } catch (error) {
        this.options.onError?.(error);
        this.connection?.close();
        await this.sleepUntil(now() + this.settings.reconnectMinDelayMs);
      }
    }
  }

  private async step(): Promise<void> {
    const t = now();
    if (this.pollQueue.length === 0 && t >= this.nextCycleAtMs) {
      this.pollQueue = [...this.meters.keys()];
      this.nextCycleAtMs = t + this.settings.pollIntervalMs;
    }
    if (!this.connection) {
      if (t >= this.nextConnectAtMs) return this.connect();
      this.failWhileDisconnected(t);
      return this.sleepUntil(Math.min(this.nextCycleAtMs, this.nextConnectAtMs, this.commands.nextDueAtMs()));
    }
    const command = this.commandTurn || this.pollQueue.length === 0 ? this.commands.takeDue(t) : undefined;
    if (command) {
      this.commandTurn = false;
      return this.runCommand(command);
    }
    const unitId = this.pollQueue.shift();
    if (unitId !== undefined) {
      this.commandTurn = true;
      return this.poll(unitId);
    }
    return this.sleepUntil(Math.min(this.nextCycleAtMs, this.commands.nextDueAtMs()));
  }

  /** No connection: this cycle's polls fail, due commands use up an attempt. */
  private failWhileDisconnected(t: number): void {
    for (const unitId of this.pollQueue) {
      const slot = this.meters.get(unitId);
      if (slot) this.pollFailed(slot);
    }
    this.pollQueue = [];
    const due: QueuedCommand[] = [];
    for (let item = this.commands.takeDue(t); item; item = this.commands.takeDue(t)) due.push(item);
    for (const item of due) {
      if (!this.resolveCommand(item)) continue;
      item.attempts += 1;
      this.commandAttemptFailed(item, 'gateway not connected'); // re-queued for later, or failed
    }
  }

  // ---- connection -----------------------------------------------------------------------

  private async connect(): Promise<void> {
    const token = {};
    this.connectionToken = token;
    try {
      const connection = await ModbusConnection.open({
        host: this.options.host,
        port: this.options.port,
        connectTimeoutMs: this.settings.connectTimeoutMs,
        requestTimeoutMs: this.settings.requestTimeoutMs,
        signal: this.abort!.signal,
        onMalformedFrame: (reason) => this.listener.frameRejected(reason, this.inFlightUnit),
        onClose: () => this.connectionClosed(token),
      });
      if (!this.running || !connection.isOpen || this.connectionToken !== token) {
        connection.close();
        throw new Error('connection closed while opening');
      }
      this.connection = connection;
      this.consecutiveTimeouts = 0;
      if (this.meters.size === 0) this.setGatewayOnline(true);
    } catch {
      if (!this.running) return;
      this.setGatewayOnline(false);
      this.scheduleReconnect();
    }
  }

  private connectionClosed(token: object): void {
    if (this.connectionToken !== token || !this.connection) return;
    this.connection = undefined;
    this.connectionToken = undefined;
    if (!this.running) return;
    this.setGatewayOnline(false);
    this.scheduleReconnect();
    this.wake();
  }

  private scheduleReconnect(): void {
    this.nextConnectAtMs = now() + this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.settings.reconnectMaxDelayMs, this.reconnectDelayMs * 2);
  }

  private setGatewayOnline(online: boolean): void {
    if (this.gatewayOnline === online) return;
    this.gatewayOnline = online;
    this.listener.gatewayStatus(online);
  }

  /** One request on the current connection, classified; never throws. */
  private async exchange<T>(slot: MeterSlot, request: (connection: ModbusConnection) => Promise<T>): Promise<Exchange<T>> {
    const connection = this.connection;
    if (!connection) return { ok: false, failure: { kind: 'disconnected', detail: 'gateway not connected' } };
    this.inFlightUnit = slot.unitAddress;
    try {
      const value = await request(connection);
      this.consecutiveTimeouts = 0;
      this.reconnectDelayMs = this.settings.reconnectMinDelayMs;
      this.setGatewayOnline(true);
      return { ok: true, value };
    } catch (error) {
      const failure = classifyRequestError(error);
      switch (failure.kind) {
        case 'timeout':
          this.consecutiveTimeouts += 1;
          // A silent peer or lost framing: only a new connection resynchronises.
          if (this.consecutiveTimeouts >= this.settings.reconnectAfterTimeouts) connection.close();
          break;
        case 'exception':
          this.consecutiveTimeouts = 0;
          this.setGatewayOnline(true);
          break;
        case 'malformed':
          this.consecutiveTimeouts = 0;
          this.listener.frameRejected(failure.detail, slot.unitAddress);
          break;
        case 'disconnected':
          break;
      }
      return { ok: false, failure };
    } finally {
      this.inFlightUnit = undefined;
    }
  }

  private async exchangeWithRetries<T>(
    slot: MeterSlot,
    retries: number,
    request: (connection: ModbusConnection) => Promise<T>,
  ): Promise<Exchange<T>> {
    for (let attempt = 0; ; attempt++) {
      const result = await this.exchange(slot, request);
      const retryable = !result.ok && (result.failure.kind === 'timeout' || result.failure.kind === 'malformed');
      if (!retryable || attempt >= retries || !this.running) return result;
    }
  }

  // ---- polling ----------------------------------------------------------------------------

  private async poll(unitId: number): Promise<void> {
    const slot = this.meters.get(unitId);
    if (!slot) return;
    const words: number[] = [];
    for (const block of slot.profile.poll) {
      const result = await this.exchangeWithRetries(slot, this.settings.pollRetries, (c) => c.readBlock(slot.unitId, block));
      if (!result.ok) return this.pollFailed(slot);
      words.push(...result.value);
    }
    if (this.meters.get(unitId) !== slot) return; // reconfigured meanwhile
    let reading;
    try {
      reading = slot.profile.decode(words, slot.unitAddress, this.options.clock.now());
    } catch (error) {
      this.listener.frameRejected(error instanceof Error ? error.message : String(error), slot.unitAddress);
      return this.pollFailed(slot);
    }
    this.listener.reading(reading, process.hrtime.bigint());
    slot.failedPolls = 0;
    this.setMeterOnline(slot, true);
  }

  private pollFailed(slot: MeterSlot): void {
    slot.failedPolls += 1;
    if (slot.failedPolls >= this.settings.offlineAfterFailedPolls) this.setMeterOnline(slot, false);
  }

  private setMeterOnline(slot: MeterSlot, online: boolean): void {
    if (slot.online === online) return;
    slot.online = online;
    this.listener.meterStatus(slot.unitAddress, online);
  }

  // ---- commands ---------------------------------------------------------------------------

  /** The meter and the writes for a command; fails the command if there are none. */
  private resolveCommand(item: QueuedCommand): { slot: MeterSlot; write: SupplyWrite } | undefined {
    const { command } = item;
    const unitId = parseUnitId(command.unitAddress);
    const slot = unitId === undefined ? undefined : this.meters.get(unitId);
    if (!slot) {
      this.listener.commandResult(command.commandId, 'failed', `no meter at unit ${command.unitAddress} on this gateway`);
      return undefined;
    }
    const write = slot.profile.supplyWrite(command.target, command.action);
    if (!write) {
      this.listener.commandResult(command.commandId, 'failed', `${slot.profile.name} cannot switch ${command.target}`);
      return undefined;
    }
    return { slot, write };
  }

  private async runCommand(item: QueuedCommand): Promise<void> {
    const resolved = this.resolveCommand(item);
    if (!resolved) return;
    const { slot, write } = resolved;
    const { commandId } = item.command;
    item.attempts += 1;
    const written = await this.exchange(slot, (c) => c.writeRegisters(slot.unitId, write.address, write.values));
    // Sent: the write went out and the meter did not refuse it (an exception reply means it took
    // no effect; a timeout or a lost link may have switched the relay). Only a sent command can be
    // confirmed later by the meter's readings (circuit.actor.ts).
    if (!item.sent && (written.ok || written.failure.kind !== 'exception')) {
      item.sent = true;
      this.listener.commandSent(commandId);
    }
    if (!written.ok) {
      const { failure } = written;
      // The meter refuses this write: repeating it cannot help.
      const definitive = failure.kind === 'exception' && DEFINITIVE_EXCEPTIONS.has(failure.code);
      return this.commandAttemptFailed(item, `write failed: ${failure.detail}`, definitive);
    }
    const readBack = await this.exchange(slot, (c) => c.readBlock(slot.unitId, write.readBack));
    if (!readBack.ok) return this.commandAttemptFailed(item, `read-back failed: ${readBack.failure.detail}`);
    const seen = readBack.value;
    if (seen.length !== write.expect.length || seen.some((word, i) => word !== write.expect[i])) {
      return this.commandAttemptFailed(item, `read back [${seen.join(',')}], expected [${write.expect.join(',')}]`);
    }
    this.listener.commandResult(commandId, 'confirmed', `read back [${seen.join(',')}] at ${hex(write.readBack.address)}`);
  }

  private commandAttemptFailed(item: QueuedCommand, detail: string, final = false): void {
    const { commandId } = item.command;
    if (final || item.attempts >= this.settings.commandAttempts) {
      this.listener.commandResult(commandId, 'failed', `${item.attempts} attempts, last: ${detail}`);
      return;
    }
    const newer = this.commands.retry(item, now() + this.settings.commandRetryDelayMs);
    if (newer !== undefined) this.listener.commandResult(commandId, 'failed', `superseded by ${newer}`);
  }

  // ---- pacing -----------------------------------------------------------------------------

  /** Sleeps until `atMs` (monotonic) or until woken by send / setMeters / stop. */
  private sleepUntil(atMs: number): Promise<void> {
    const delayMs = atMs - now();
    if (!this.running || delayMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(this.sleepTimer);
        this.sleepTimer = undefined;
        this.wakeSleeper = undefined;
        resolve();
      };
      this.wakeSleeper = done;
      this.sleepTimer = setTimeout(done, Math.min(delayMs, 2 ** 31 - 1));
    });
  }

  private wake(): void {
    this.wakeSleeper?.();
  }
}

/**
 * The listener with every callback guarded: a throwing gateway actor must not tear down
 * the connection or stop the poll loop. The error goes to `onError`.
 */
function shielded(listener: GatewayDriverListener, onError: ((error: unknown) => void) | undefined): GatewayDriverListener {
  const safely = (call: () => void): void => {
    try {
      call();
    } catch (error) {
      onError?.(error);
    }
  };
  return {
    reading: (reading, decodedAtNs) => safely(() => listener.reading(reading, decodedAtNs)),
    meterStatus: (unitAddress, online) => safely(() => listener.meterStatus(unitAddress, online)),
    gatewayStatus: (online) => safely(() => listener.gatewayStatus(online)),
    commandSent: (commandId) => safely(() => listener.commandSent(commandId)),
    commandResult: (commandId, outcome, detail, interrupted) => safely(() => listener.commandResult(commandId, outcome, detail, interrupted)),
    frameRejected: (reason, unitAddress) => safely(() => listener.frameRejected(reason, unitAddress)),
  };
}

function hex(address: number): string {
  return `0x${address.toString(16).padStart(4, '0')}`;
}

/** The numeric settings the caller actually gave (undefined keeps the default). */
function definedOnly(options: ModbusTcpDriverOptions): Partial<Settings> {
  const out: Partial<Record<keyof Settings, number>> = {};
  for (const key of Object.keys(MODBUS_TCP_DRIVER_DEFAULTS) as (keyof Settings)[]) {
    const value = options[key];
    if (value !== undefined) out[key] = value;
  }
  return out as Partial<Settings>;
}
