import type { MeterReading } from '../domain/reading.ts';
import { boundSampleTime } from '../domain/sample-time.ts';
import type { CommandOutcome, GatewayDriver, GatewayDriverListener, MeterEndpoint, SupplyCommand } from '../drivers/gateway-driver.ts';
import type { ActorDeps } from './actor-deps.ts';
import { resumeOnCrash } from './actor-deps.ts';
import type { CircuitMsg } from './circuit.actor.ts';
import type { LedgerMsg } from './ledger.actor.ts';
import { actorName, dispatch, spawnActor, type Ref } from './nact.ts';

/**
 * A meter's one queued reading. While a reading for a meter waits in its mailbox, a newer one
 * replaces it here instead of queueing behind it (registers are cumulative: the newer reading
 * bills everything the older one would have; only an intermediate power sample is skipped), so
 * under overload a meter's mailbox holds at most one reading and memory stays flat. Counted in
 * `campus_readings_coalesced_total`.
 */
export interface ReadingSlot {
  queued: boolean;
  /** The newest reading while queued; null before the first. */
  reading: MeterReading | null;
  decodedAtNs: bigint;
}

/** What a gateway forwards to a meter actor. */
export type MeterInbound =
  | { readonly type: 'ReadingArrived'; readonly reading: MeterReading; readonly decodedAtNs: bigint; readonly slot?: ReadingSlot }
  | { readonly type: 'OnlineChanged'; readonly online: boolean; readonly at: number };

export type GatewayMsg =
  | { readonly type: 'ReadingArrived'; readonly reading: MeterReading; readonly decodedAtNs: bigint; readonly receivedAt: number }
  | { readonly type: 'GatewayStatusChanged'; readonly online: boolean }
  | { readonly type: 'FrameRejected'; readonly reason: string; readonly unitAddress?: string | undefined }
  | { readonly type: 'AttachMeter'; readonly endpoint: MeterEndpoint; readonly dormitoryId: string; readonly meter: Ref<MeterInbound> }
  | { readonly type: 'DetachMeter'; readonly unitAddress: string }
  | {
      readonly type: 'SendCommand';
      readonly command: SupplyCommand;
      readonly dormitoryId: string;
      readonly meterId: string;
      readonly reason: string;
      readonly requestedBy: string;
      readonly causedAtNs: bigint | undefined;
      readonly replyTo: Ref<CircuitMsg>;
      /** The circuit wrote its 'requested' record ahead (committed, or queued in the group commit): not recorded again. */
      readonly writtenAhead?: boolean;
    }
  | { readonly type: 'CommandSent'; readonly commandId: string }
  | { readonly type: 'CommandCompleted'; readonly commandId: string; readonly outcome: CommandOutcome; readonly detail: string; readonly interrupted?: boolean }
  | { readonly type: 'GetGateway'; readonly replyTo: Ref<GatewayView> }
  /** Boot: every meter of this gateway is attached (their AttachMeter came first): subscribe now. */
  | { readonly type: 'StartDriver' };

export interface GatewayView {
  readonly gatewayId: string;
  readonly online: boolean;
  readonly meters: number;
  readonly commandsInFlight: number;
}

export interface GatewayProps {
  readonly gatewayId: string;
  readonly protocol: 'modbus-tcp' | 'mqtt';
  readonly ledger: Ref<LedgerMsg>;
  /** Builds the driver session; called once, inside the actor, with a listener bound to it. */
  readonly createDriver: (listener: GatewayDriverListener) => GatewayDriver;
  /**
   * Start the driver only on `StartDriver` (boot: after the meters are attached, so no reading
   * arrives for a meter not yet attached). False: at once (a gateway added at run time).
   */
  readonly deferStart?: boolean;
}

/** Rejected frames are logged at most once per gateway per this much wall time, with a count. */
export const REJECTION_LOG_INTERVAL_MS = 60_000;

/**
 * The `detail` of a command the server stopped (or was killed) before its meter answered. The
 * command did not fail at the meter, so it raises no alarm; the restarted circuit compares its
 * first reading with its persisted reasons and sends again if the relay is the wrong way.
 */
export function interruptedCommandDetail(cause: string): string {
  return `interrupted: the server stopped before the meter answered (${cause}); the relay is reconciled from its first reading after the restart`;
}

interface PendingCommand {
  readonly command: SupplyCommand;
  readonly dormitoryId: string;
  readonly meterId: string;
  readonly reason: string;
  readonly requestedBy: string;
  readonly requestedAt: number;
  readonly replyTo: Ref<CircuitMsg>;
  /**
   * The driver put it on the wire (Modbus write or MQTT publish) while the gateway was not known
   * offline: it may have switched the relay. A publish to a gateway whose retained status says
   * offline reaches the broker only (a clean session drops it), so it cannot have switched anything.
   */
  readonly sent?: boolean;
}

interface AttachedMeter {
  readonly endpoint: MeterEndpoint;
  readonly dormitoryId: string;
  readonly ref: Ref<MeterInbound>;
  /** Its one queued reading (see ReadingSlot). */
  readonly slot: ReadingSlot;
}

interface GatewayState {
  readonly driver: GatewayDriver;
  /** Direct references: a reading never passes through a parent with many children. */
  readonly meters: Map<string, AttachedMeter>;
  online: boolean | null;
  readonly pending: Map<string, PendingCommand>;
  driverStarted: boolean;
  /** Rejections since the last log line, by reason (a flood is one line a minute, not one per frame). */
  readonly rejections: { count: number; readonly byReason: Map<string, number>; loggedAt: number };
}

/**
 * `gateway:<id>`: one driver session. Decoded frames become ReadingArrived messages to the
 * meter actors it holds references to; supply commands go to the driver and their lifecycle
 * (requested -> sent -> confirmed | failed) to the ledger. The driver's listener is called
 * synchronously by the driver and only dispatches messages to this actor.
 */
export function spawnGateway(parent: Ref<unknown>, props: GatewayProps, deps: ActorDeps): Ref<GatewayMsg> {
  const log = deps.log.child({ gateway: props.gatewayId });
  /**
   * The attached meters: the actor's state holds this very map and is its only writer
   * (AttachMeter / DetachMeter); the driver's listener reads it to hand each reading straight
   * to its meter actor. The gateway is a relay on that path, and a relay through its mailbox
   * would cost every reading one more hop and queue a cut command behind a gateway's readings.
   */
  const meters: GatewayState['meters'] = new Map();
  /** A reading for its meter, its sample time bounded by the server's receive time (time comes from the server). */
  const relay = (meter: AttachedMeter, reading: MeterReading, decodedAtNs: bigint, receivedAt: number) => {
    const bounded = boundSampleTime(reading.at, receivedAt);
    if (bounded.skew !== 'none') {
      deps.metrics.sampleClockSkew.inc({ protocol: props.protocol, direction: bounded.skew });
      log.warn({ unitAddress: reading.unitAddress, ts: reading.at, receivedAt }, `sample time ${bounded.skew === 'future' ? 'ahead of' : 'far behind'} the server's receive time; clamped`);
    }
    const slot = meter.slot;
    const latest = bounded.at === reading.at ? reading : { ...reading, at: bounded.at };
    slot.reading = latest;
    slot.decodedAtNs = decodedAtNs;
    if (slot.queued) {
      deps.metrics.readingsCoalesced.inc();
      return;
    }
    slot.queued = true;
    dispatch(meter.ref, { type: 'ReadingArrived', reading: latest, decodedAtNs, slot });
  };
  const listener: GatewayDriverListener = {
    // The server's receive time, on the injected clock, taken as the driver hands the frame over.
    reading: (reading, decodedAtNs) => {
      const meter = meters.get(reading.unitAddress);
      if (meter) relay(meter, reading, decodedAtNs, deps.clock.now());
      else dispatch(self, { type: 'ReadingArrived', reading, decodedAtNs, receivedAt: deps.clock.now() }); // counted there
    },
    meterStatus: (unitAddress, online) => {
      const meter = meters.get(unitAddress);
      if (meter) dispatch(meter.ref, { type: 'OnlineChanged', online, at: deps.clock.now() });
    },
    gatewayStatus: (online) => dispatch(self, { type: 'GatewayStatusChanged', online }),
    commandSent: (commandId) => dispatch(self, { type: 'CommandSent', commandId }),
    commandResult: (commandId, outcome, detail, interrupted) => dispatch(self, { type: 'CommandCompleted', commandId, outcome, detail, interrupted: interrupted === true }),
    frameRejected: (reason, unitAddress) => dispatch(self, { type: 'FrameRejected', reason, unitAddress }),
  };
  const driver = props.createDriver(listener);
  const startDriver = () => driver.start().catch((error: unknown) => log.error({ err: error }, 'gateway driver failed to start'));
  /** Counts a rejected frame; logs the first, then at most once per interval with what was counted since. */
  const rejected = (state: GatewayState, reason: string, unitAddress: string | undefined, detail: string) => {
    deps.metrics.framesRejected.inc({ protocol: props.protocol, reason });
    const r = state.rejections;
    r.count++;
    r.byReason.set(reason, (r.byReason.get(reason) ?? 0) + 1);
    const now = performance.now();
    if (now - r.loggedAt < REJECTION_LOG_INTERVAL_MS) return;
    log.warn({ rejected: r.count, reasons: Object.fromEntries(r.byReason), last: { unitAddress, reason: detail } }, r.count === 1 ? 'frame rejected' : `${r.count} frames rejected since the last report`);
    r.count = 0;
    r.byReason.clear();
    r.loggedAt = now;
  };

  const event = (kind: string, details: Record<string, unknown>, fromState: string | null = null, toState: string | null = null) =>
    dispatch(props.ledger, { type: 'EventOccurred', record: { dormitoryId: null, meterId: null, gatewayId: props.gatewayId, kind, fromState, toState, details, occurredAt: deps.clock.now() } });

  const commandRecord = (p: PendingCommand, state: 'requested' | 'sent' | 'confirmed' | 'failed', extra: { sentAt?: number; completedAt?: number; detail?: string } = {}) => ({
    id: p.command.commandId,
    dormitoryId: p.dormitoryId,
    meterId: p.meterId,
    target: p.command.target,
    action: p.command.action,
    reason: p.reason,
    state,
    requestedBy: p.requestedBy,
    requestedAt: p.requestedAt,
    ...extra,
  });

  // The listener's callbacks run only after start() below, once `self` is assigned.
  const self: Ref<GatewayMsg> = spawnActor<GatewayState, GatewayMsg>(
    parent,
    (state, msg) => {
      switch (msg.type) {
        case 'ReadingArrived': {
          const meter = state.meters.get(msg.reading.unitAddress);
          if (!meter) {
            rejected(state, 'unknown_unit', msg.reading.unitAddress, 'no meter attached at this unit address');
            return state;
          }
          // Attached after the listener looked (the listener relays directly when it is attached).
          relay(meter, msg.reading, msg.decodedAtNs, msg.receivedAt);
          return state;
        }
        case 'GatewayStatusChanged': {
          if (state.online === msg.online) return state;
          if (msg.online) deps.metrics.gatewaysOnline.inc();
          else if (state.online) deps.metrics.gatewaysOnline.dec();
          event(msg.online ? 'gateway_online' : 'gateway_offline', {}, state.online === null ? null : state.online ? 'online' : 'offline', msg.online ? 'online' : 'offline');
          if (!msg.online) {
            // One alarm for the outage, naming the rooms it affects; the commands that fail while
            // it lasts raise nothing more (their circuits retry when the gateway is back).
            const rooms = [...new Set([...state.meters.values()].map((m) => m.dormitoryId))].sort();
            dispatch(props.ledger, {
              type: 'AlarmRaised',
              record: {
                dormitoryId: null,
                meterId: null,
                gatewayId: props.gatewayId,
                circuit: null,
                kind: 'gateway_offline',
                severity: 'warning',
                message: `gateway ${props.gatewayId} went offline; ${rooms.length} room(s) affected`,
                evidence: [{ rooms, meters: state.meters.size }],
                raisedAt: deps.clock.now(),
              },
            });
          } else if (state.online !== true) {
            // Back online, or online at the first status after a boot: an outage alarm the earlier
            // run left active (it stopped or was killed during the outage) is cleared too.
            dispatch(props.ledger, { type: 'AlarmCleared', clearance: { dormitoryId: null, gatewayId: props.gatewayId, circuit: null, kind: 'gateway_offline' } });
          }
          state.online = msg.online;
          return state;
        }
        case 'FrameRejected':
          rejected(state, msg.reason.split(':')[0]!.slice(0, 40), msg.unitAddress, msg.reason);
          return state;
        case 'AttachMeter':
          state.meters.set(msg.endpoint.unitAddress, { endpoint: msg.endpoint, dormitoryId: msg.dormitoryId, ref: msg.meter, slot: { queued: false, reading: null, decodedAtNs: 0n } });
          // Before the driver starts, the meters are handed over once, on StartDriver.
          if (state.driverStarted) driver.setMeters([...state.meters.values()].map((m) => m.endpoint));
          return state;
        case 'DetachMeter':
          if (state.meters.delete(msg.unitAddress) && state.driverStarted) driver.setMeters([...state.meters.values()].map((m) => m.endpoint));
          return state;
        case 'StartDriver':
          if (state.driverStarted) return state;
          state.driverStarted = true;
          driver.setMeters([...state.meters.values()].map((m) => m.endpoint));
          void startDriver();
          return state;
        case 'SendCommand': {
          const pending: PendingCommand = {
            command: msg.command,
            dormitoryId: msg.dormitoryId,
            meterId: msg.meterId,
            reason: msg.reason,
            requestedBy: msg.requestedBy,
            requestedAt: deps.clock.now(),
            replyTo: msg.replyTo,
          };
          state.pending.set(msg.command.commandId, pending);
          if (!msg.writtenAhead) dispatch(props.ledger, { type: 'CommandChanged', record: commandRecord(pending, 'requested') });
          if (msg.causedAtNs !== undefined) {
            deps.metrics.commandLatency.observe({ reason: msg.reason.split(',')[0]! }, Number(process.hrtime.bigint() - msg.causedAtNs) / 1e9);
          }
          if (msg.command.action === 'restore' && deps.runtimeLockHeld?.() === false) {
            // Another server may be running the campus: this one switches no power on until it holds
            // the lock again (the circuit retries) or stops. Cuts still go: a kettle is cut while the
            // database is away (the lock's connection goes with it), and a cut is never the unsafe way.
            dispatch(self, { type: 'CommandCompleted', commandId: msg.command.commandId, outcome: 'failed', detail: 'not sent: this server does not hold the runtime lock', interrupted: true });
            return state;
          }
          driver.send(msg.command);
          return state;
        }
        case 'CommandSent': {
          const pending = state.pending.get(msg.commandId);
          if (!pending) return state;
          state.pending.set(msg.commandId, { ...pending, sent: pending.sent === true || state.online !== false });
          dispatch(props.ledger, { type: 'CommandChanged', record: commandRecord(pending, 'sent', { sentAt: deps.clock.now() }) });
          return state;
        }
        case 'CommandCompleted': {
          const pending = state.pending.get(msg.commandId);
          if (!pending) return state;
          state.pending.delete(msg.commandId);
          deps.metrics.commands.inc({ outcome: msg.outcome });
          const detail = msg.interrupted === true ? interruptedCommandDetail(msg.detail) : msg.detail;
          dispatch(props.ledger, { type: 'CommandChanged', record: commandRecord(pending, msg.outcome, { completedAt: deps.clock.now(), detail }) });
          // While the gateway is offline its outage alarm covers the failure (no alarm per circuit).
          const coveredByOutage = msg.outcome === 'failed' && state.online === false;
          dispatch(pending.replyTo, { type: 'CommandOutcome', commandId: msg.commandId, outcome: msg.outcome, detail, coveredByOutage, sent: pending.sent === true, interrupted: msg.interrupted === true });
          return state;
        }
        case 'GetGateway':
          dispatch(msg.replyTo, { gatewayId: props.gatewayId, online: state.online === true, meters: state.meters.size, commandsInFlight: state.pending.size });
          return state;
      }
    },
    actorName('gateway', props.gatewayId),
    {
      initialState: { driver, meters, online: null, pending: new Map(), driverStarted: props.deferStart !== true, rejections: { count: 0, byReason: new Map(), loggedAt: -Infinity } },
      onCrash: resumeOnCrash(deps, 'gateway'),
      afterStop: (state) => {
        if (state.online) deps.metrics.gatewaysOnline.dec();
      },
    },
  );
  if (props.deferStart !== true) void startDriver();
  return self;
}
