import { SystemClock } from '../clock.ts';
import type { Clock } from '../clock.ts';
import { CIRCUIT_KINDS } from '../domain/reading.ts';
import type { SupplyTarget } from '../domain/reading.ts';
import type { GatewayDriver, GatewayDriverListener, MeterEndpoint, MeterProfileName, SupplyCommand } from './gateway-driver.ts';
import type { MqttConnection, MqttGatewayRoute } from './mqtt-connection.ts';
import { decodeAck, decodeStatus, decodeTelemetry, encodeCommand } from './mqtt-payload.ts';
import type { AckMessage } from './mqtt-payload.ts';

/**
 * The MQTT session of one gateway (docs/mqtt.md), on a connection shared with the node's
 * other gateways (or its own, with `ownsConnection`).
 *
 * - Readings: `<prefix>/<id>/telemetry` payloads decoded strictly; a rejected payload or
 *   unit goes to `frameRejected` and nothing else happens.
 * - Gateway online/offline: the retained `<prefix>/<id>/status` (`online` on connect,
 *   `offline` as the broker-published last will). Losing the broker counts as offline.
 *   Going offline marks every meter offline at once.
 * - Meter online/offline: online on its first reading; offline once it has not reported
 *   for `offlineAfterMissed` x `expectedIntervalMs` on `clock` (a sweep every interval,
 *   owned by start/stop). Meters never heard from are declared offline after the same time.
 * - Commands: published QoS 1 (`commandSent` on the first publish); each attempt waits
 *   `ackTimeoutMs` (real time: it is a network deadline) for an ack; the command is
 *   confirmed only when the ack's read-back state is the requested one; otherwise it is
 *   retried up to `maxAttempts`, then `commandResult(id, 'failed', why)`.
 * - Only acks of commands this driver sent to this gateway count: an ack naming any other
 *   command id (another gateway's pending command, a made-up one) is refused through
 *   `frameRejected('foreign_ack: ...')` (counted, logged, dropped). A repeated ack of one of
 *   the last `RECENT_COMMANDS` finished commands is QoS 1 redelivery and dropped silently.
 */
export interface MqttGatewayDriverOptions {
  readonly gatewayId: string;
  readonly connection: MqttConnection;
  readonly listener: GatewayDriverListener;
  /** The injected clock: meter staleness is judged in its time. */
  readonly clock: Clock;
  /** How often the gateway publishes telemetry, in `clock` milliseconds. */
  readonly expectedIntervalMs: number;
  /** A meter is offline after this many missed intervals. Default 3. */
  readonly offlineAfterMissed?: number;
  /** Deadline for one command attempt's ack, real milliseconds. Default 5 000. */
  readonly ackTimeoutMs?: number;
  /** Attempts per command, the first included. Default 3. */
  readonly maxAttempts?: number;
  /** `start()` / `stop()` also start and stop `connection`. Default false (shared). */
  readonly ownsConnection?: boolean;
  /** Real-time timers for ack deadlines. Default a `SystemClock`. */
  readonly timers?: Clock;
}

/** Finished command ids remembered, so a late or repeated ack of one is not called foreign. */
const RECENT_COMMANDS = 1024;

interface MeterState {
  readonly profile: MeterProfileName;
  /** undefined until first heard of or declared offline. */
  online: boolean | undefined;
  /** `clock` time of the last reading, or of configuration when never heard of. */
  lastSeenAt: number;
}

interface PendingCommand {
  readonly command: SupplyCommand;
  attempts: number;
  sent: boolean;
  cancelTimer: () => void;
}

/** Which targets each profile can switch (sdm120 is read-only). */
function supportsTarget(profile: MeterProfileName, target: SupplyTarget): boolean {
  switch (profile) {
    case 'campus-1in3out':
      return (CIRCUIT_KINDS as readonly SupplyTarget[]).includes(target);
    case 'acrel-ddsy1352':
      return target === 'main';
    case 'water-valve':
      return target === 'valve';
    case 'sdm120':
      return false;
  }
}

function describeState(target: SupplyTarget, closed: boolean): string {
  if (target === 'valve') return closed ? 'valve open' : 'valve closed';
  return closed ? 'relay closed' : 'relay open';
}

export class MqttGatewayDriver implements GatewayDriver {
  private readonly meters = new Map<string, MeterState>();
  private readonly pending = new Map<string, PendingCommand>();
  /** Ids of commands sent to this gateway and finished, oldest first (bounded). */
  private readonly finished = new Set<string>();
  private gatewayOnline: boolean | undefined;
  private started = false;
  private unregister: (() => void) | undefined;
  private cancelSweep: (() => void) | undefined;
  private readonly route: MqttGatewayRoute;
  private readonly timers: Clock;

  constructor(private readonly options: MqttGatewayDriverOptions) {
    this.timers = options.timers ?? new SystemClock();
    this.route = {
      telemetry: (payload, receivedAtNs) => this.onTelemetry(payload, receivedAtNs),
      ack: (payload) => this.onAck(payload),
      status: (payload) => this.onStatus(payload),
      connectionLost: () => this.markGatewayOffline(),
    };
  }

  get gatewayId(): string {
    return this.options.gatewayId;
  }

  private get listener(): GatewayDriverListener {
    return this.options.listener;
  }

  private get ackTimeoutMs(): number {
    return this.options.ackTimeoutMs ?? 5_000;
  }

  private get maxAttempts(): number {
    return Math.max(1, this.options.maxAttempts ?? 3);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.unregister = this.options.connection.register(this.options.gatewayId, this.route);
    this.started = true;
    const now = this.options.clock.now();
    for (const meter of this.meters.values()) meter.lastSeenAt = now;
    this.scheduleSweep();
    if (this.options.ownsConnection) {
      try {
        await this.options.connection.start();
      } catch (error) {
        await this.stop();
        throw error;
      }
    }
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.cancelSweep?.();
    this.cancelSweep = undefined;
    this.unregister?.();
    this.unregister = undefined;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const command of pending) {
      command.cancelTimer();
      this.listener.commandResult(command.command.commandId, 'failed', 'driver stopped', true);
    }
    if (this.options.ownsConnection) await this.options.connection.stop();
  }

  setMeters(meters: readonly MeterEndpoint[]): void {
    const now = this.options.clock.now();
    const previous = new Map(this.meters);
    this.meters.clear();
    for (const endpoint of meters) {
      const known = previous.get(endpoint.unitAddress);
      this.meters.set(
        endpoint.unitAddress,
        known && known.profile === endpoint.profile ? known : { profile: endpoint.profile, online: undefined, lastSeenAt: now },
      );
    }
  }

  send(command: SupplyCommand): void {
    const fail = (detail: string): void => this.listener.commandResult(command.commandId, 'failed', detail);
    if (!this.started) return fail('driver not started');
    if (this.pending.has(command.commandId)) return; // the same command is already in flight
    const meter = this.meters.get(command.unitAddress);
    if (!meter) return fail(`unit ${command.unitAddress} is not configured on gateway ${this.gatewayId}`);
    if (!supportsTarget(meter.profile, command.target)) return fail(`${meter.profile} meter cannot switch ${command.target}`);
    if (command.action !== 'cut' && command.action !== 'restore') return fail(`unknown action ${String(command.action)}`);
    const pending: PendingCommand = { command, attempts: 0, sent: false, cancelTimer: () => {} };
    this.pending.set(command.commandId, pending);
    this.attempt(pending);
  }

  private attempt(pending: PendingCommand): void {
    pending.attempts++;
    const published = this.options.connection.publishCommand(this.gatewayId, encodeCommand(pending.command));
    if (published && !pending.sent) {
      pending.sent = true;
      this.listener.commandSent(pending.command.commandId);
    }
    const problem = published ? `no acknowledgement within ${this.ackTimeoutMs} ms` : 'broker not connected';
    pending.cancelTimer = this.timers.schedule(this.ackTimeoutMs, () => {
      if (this.pending.get(pending.command.commandId) === pending) this.retryOrFail(pending, problem);
    });
  }

  private retryOrFail(pending: PendingCommand, problem: string): void {
    if (pending.attempts < this.maxAttempts) {
      this.attempt(pending);
      return;
    }
    this.finish(pending.command.commandId);
    this.listener.commandResult(pending.command.commandId, 'failed', `${problem} (after ${pending.attempts} attempts)`);
  }

  private finish(commandId: string): void {
    this.pending.delete(commandId);
    this.finished.add(commandId);
    if (this.finished.size > RECENT_COMMANDS) this.finished.delete(this.finished.values().next().value!);
  }

  private onAck(payload: Buffer): void {
    const decoded = decodeAck(payload);
    if (!decoded.ok) {
      this.listener.frameRejected(decoded.rejection.reason);
      return;
    }
    const ack = decoded.value;
    const pending = this.pending.get(ack.id);
    if (!pending) {
      // A duplicate (QoS 1 is at-least-once) or a late ack of a finished command is expected;
      // an id this driver never sent to this gateway is a forgery or a misrouted ack.
      if (!this.finished.has(ack.id)) this.listener.frameRejected(`foreign_ack: ack for command ${JSON.stringify(ack.id.slice(0, 64))}, which was not sent to gateway ${this.gatewayId}`);
      return;
    }
    pending.cancelTimer();
    const { target, action } = pending.command;
    const wanted = action === 'restore';
    const state = readBack(ack, target);
    if (ack.ok && state === wanted) {
      this.finish(ack.id);
      this.listener.commandResult(ack.id, 'confirmed', describeState(target, state));
      return;
    }
    const problem = !ack.ok
      ? `gateway refused: ${ack.error ?? 'no reason given'}`
      : state === undefined
        ? 'ack carried no read-back state'
        : `read back ${describeState(target, state)}, wanted ${describeState(target, wanted)}`;
    this.retryOrFail(pending, problem);
  }

  /** `receivedAtNs`: when the message reached the node; reading -> command is timed from it (its wait for its turn included). */
  private onTelemetry(payload: Buffer, receivedAtNs: bigint): void {
    const { readings, rejections } = decodeTelemetry(payload, {
      limits: this.options.connection.telemetryLimits,
      profileOf: (unitAddress) => this.meters.get(unitAddress)?.profile,
    });
    const decodedAtNs = receivedAtNs;
    for (const rejection of rejections) this.listener.frameRejected(rejection.reason, rejection.unitAddress);
    if (readings.length === 0) return;
    const now = this.options.clock.now();
    for (const reading of readings) {
      const meter = this.meters.get(reading.unitAddress);
      if (!meter) continue; // profileOf already rejected it
      meter.lastSeenAt = now;
      if (meter.online !== true) {
        meter.online = true;
        this.listener.meterStatus(reading.unitAddress, true);
      }
      this.listener.reading(reading, decodedAtNs);
    }
  }

  private onStatus(payload: Buffer): void {
    const decoded = decodeStatus(payload);
    if (!decoded.ok) {
      this.listener.frameRejected(decoded.rejection.reason);
      return;
    }
    if (!decoded.value) {
      this.markGatewayOffline();
      return;
    }
    if (this.gatewayOnline === true) return;
    this.gatewayOnline = true;
    this.listener.gatewayStatus(true);
  }

  private markGatewayOffline(): void {
    if (this.gatewayOnline !== false) {
      this.gatewayOnline = false;
      this.listener.gatewayStatus(false);
    }
    for (const [unitAddress, meter] of this.meters) {
      if (meter.online === false) continue;
      meter.online = false;
      this.listener.meterStatus(unitAddress, false);
    }
  }

  private scheduleSweep(): void {
    const intervalMs = Math.max(1, this.options.expectedIntervalMs);
    this.cancelSweep = this.options.clock.schedule(intervalMs, () => {
      if (!this.started) return;
      this.sweep();
      this.scheduleSweep();
    });
  }

  /** Meters silent for longer than `offlineAfterMissed` intervals go offline. */
  private sweep(): void {
    const silentLimitMs = (this.options.offlineAfterMissed ?? 3) * this.options.expectedIntervalMs;
    const now = this.options.clock.now();
    for (const [unitAddress, meter] of this.meters) {
      if (meter.online === false || now - meter.lastSeenAt <= silentLimitMs) continue;
      meter.online = false;
      this.listener.meterStatus(unitAddress, false);
    }
  }
}

function readBack(ack: AckMessage, target: SupplyTarget): boolean | undefined {
  return target === 'valve' ? ack.valveOpen : ack.relayClosed;
}
