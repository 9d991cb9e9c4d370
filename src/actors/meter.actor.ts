import type { Purse } from '../db/database.ts';
import { CIRCUIT_KINDS, type CircuitSample, type ElectricReading, type MeterReading, type SupplyTarget, type WaterReading } from '../domain/reading.ts';
import { admitUsage, type UsageWindow } from '../domain/usage-window.ts';
import { ELECTRIC_LIMITS, measuredRange, measureRegister, WATER_LIMITS, type Measured, type MeterTariff, type RegisterPosition } from '../domain/register-billing.ts';
import type { MeterProfileName } from '../drivers/gateway-driver.ts';
import { meterControlKey, type CircuitControlState, type MeterControlState } from '../domain/control-state.ts';
import type { CutReason } from '../domain/supply.ts';
import { REGISTER_HOLD_KINDS, TARIFF_INVALID_ALARM, type RegisterHoldKind, type RegisterResolution, type RegisterResolved } from '../domain/register-hold.ts';
import { meterProfile } from '../drivers/profiles/index.ts';
import { evaluateOverload, initialOverloadState, type OverloadState } from '../domain/rules/overload.ts';
import { evaluateReclosePolicy, initialReclosePolicyState, type ReclosePolicyState } from '../domain/rules/reclose-policy.ts';
import type { RuleBook } from '../domain/rules/rule-book.ts';
import { ruleSampleOf } from '../domain/rules/rule-sample.ts';
import type { RuleVerdict } from '../domain/rules/rule-verdict.ts';
import { evaluateTamper, initialTamperState, type TamperState } from '../domain/rules/tamper.ts';
import type { ActorDeps } from './actor-deps.ts';
import { resumeOnCrash } from './actor-deps.ts';
import { spawnCircuit, type CircuitMsg } from './circuit.actor.ts';
import type { GatewayMsg, MeterInbound } from './gateway.actor.ts';
import type { LedgerMsg } from './ledger.actor.ts';
import type { CircuitReported, ImposeCut, MeterOnlineChanged, MeterReported, MeterResolved } from './messages.ts';
import { actorName, dispatch, spawnActor, type Ref } from './nact.ts';

const INTERVAL_MS = 15 * 60_000;

export type MeterMsg =
  | MeterInbound
  | ImposeCut
  | { readonly type: 'FlushBilling'; readonly requestId?: number; readonly retire?: boolean; readonly replyTo?: Ref<BillingFlushed> }
  /** `pendingAmount`: the dormitory's charges for this meter not yet posted (it prices them). */
  | { readonly type: 'GetMeter'; readonly pendingAmount: number; readonly replyTo: Ref<MeterView> }
  | { readonly type: 'RulesChanged'; readonly rules: RuleBook }
  | { readonly type: 'LightsChanged'; readonly lightsOn: boolean; readonly at: number }
  | { readonly type: 'OperatorRelease'; readonly circuit: SupplyTarget | null; readonly operator: string }
  | { readonly type: 'RecloseDue' }
  | { readonly type: 'ResolveRegister'; readonly resolution: RegisterResolution; readonly operator: string; readonly replyTo: Ref<RegisterResolved> };

/**
 * A meter has reported everything it measured to its dormitory (messages between two actors
 * arrive in order, so the dormitory has priced it all when this arrives). A retired meter
 * measures nothing more: its dormitory is being rebuilt and the next actor starts from the
 * committed cursor.
 */
export interface BillingFlushed {
  readonly type: 'BillingFlushed';
  readonly meterId: string;
  readonly requestId: number | undefined;
}

export interface MeterView {
  readonly meterId: string;
  readonly kind: 'electric' | 'water';
  readonly online: boolean;
  readonly register: number | null;
  readonly billedRegister: number | null;
  readonly pendingAmount: number;
  /** Why billing is held (a register anomaly or an unusable tariff), null when it runs. */
  readonly hold: string | null;
}

export interface MeterProps {
  readonly meterId: string;
  readonly kind: 'electric' | 'water';
  readonly dormitoryId: string;
  readonly unitAddress: string;
  readonly profile: MeterProfileName;
  /** Switched outputs: circuits for the campus meter, 'main' for a one-relay meter, 'valve' for water. */
  readonly targets: readonly SupplyTarget[];
  /** The purse's pricing (the dormitory prices; the meter uses its time zone offset). */
  readonly pricing: MeterTariff;
  /** Set when the dormitory's tariff cannot price this meter: billing holds (readings kept, nothing billed). */
  readonly tariffProblem: string | null;
  /** The last billed register and its time. */
  readonly cursor: RegisterPosition | null;
  /** Holds still active from before (their alarms are active in the database): not raised again. */
  readonly activeHolds: readonly string[];
  readonly gateway: Ref<GatewayMsg>;
  readonly ledger: Ref<LedgerMsg>;
  readonly dormitory: Ref<MeterReported | MeterOnlineChanged | CircuitReported | MeterResolved>;
  readonly rules: RuleBook;
  /** Control state restored at boot or on a reload (absent: everything starts fresh). */
  readonly boot?: MeterBoot;
}

/** What a meter and its circuits resume with (src/domain/control-state.ts). */
export interface MeterBoot {
  readonly control: MeterControlState | null;
  readonly circuits: ReadonlyMap<SupplyTarget, { readonly reasons: readonly CutReason[]; readonly saved: CircuitControlState | undefined }>;
  /** The lighting phase at spawn (the socket's low-current mode applies during lights-off). */
  readonly lightsOn: boolean;
}

interface IntervalAccumulator {
  start: number;
  usage: number;
  maxPowerW: number;
  lastRegister: number | null;
  registerEnd: number;
}

interface MeterState {
  cursor: RegisterPosition | null;
  /** Usage admitted in server time (usage-window.ts); opens at the cursor's time on (re)start. */
  usageWindow: UsageWindow;
  pricing: MeterTariff;
  online: boolean;
  lastRegister: number | null;
  lastReadingAt: number | null;
  registerHold: RegisterHoldKind | null;
  tariffProblem: string | null;
  readonly circuits: Map<SupplyTarget, Ref<CircuitMsg>>;
  readonly intervals: Map<string, IntervalAccumulator>;
  rules: RuleBook;
  /** Set when the dormitory is rebuilt: readings are no longer billed here (see BillingFlushed). */
  retired: boolean;
  tamper: TamperState;
  overload: OverloadState;
  reclose: ReclosePolicyState;
  self: Ref<MeterMsg> | undefined;
}

/**
 * `meter:<id>` (electric) or `water:<id>`: measures register deltas (with their time spans) and
 * reports them to its dormitory, which prices them with the purse's quota and tier position and
 * posts them with this meter's new cursor; fans circuit samples out to its circuit actors, and
 * keeps 15-minute interval aggregates. A register that goes backwards or jumps implausibly
 * raises one alarm and is measured no further until an operator resolves it.
 */
export function spawnMeter(parent: Ref<unknown>, props: MeterProps, deps: ActorDeps): Ref<MeterMsg> {
  const purse: Purse = props.kind === 'electric' ? 'electricity' : 'water';
  const limits = props.kind === 'electric' ? ELECTRIC_LIMITS : WATER_LIMITS;
  const registerWrap = meterProfile(props.profile).registerWrap;
  const log = deps.log.child({ meter: props.meterId });

  function alarm(kind: string, message: string, at: number, evidence: unknown[]): void {
    deps.metrics.billingAnomalies.inc({ kind });
    dispatch(props.ledger, {
      type: 'AlarmRaised',
      record: { dormitoryId: props.dormitoryId, meterId: props.meterId, gatewayId: null, circuit: null, kind, severity: 'critical', message, evidence, raisedAt: at },
    });
  }

  /**
   * An operator's decision about this meter's register. The meter works out what to bill and
   * where it stands after; its dormitory prices that, and sends the charge, the new cursor, the
   * audit record and the alarm's release to the ledger together (the caller waits for that
   * commit before answering). A refusal is answered here.
   */
  function resolveRegister(state: MeterState, resolution: RegisterResolution, operator: string, replyTo: Ref<RegisterResolved>): void {
    const refuse = (answer: RegisterResolved) => dispatch(replyTo, answer);
    if (state.tariffProblem !== null) return refuse({ ok: false, code: 'TARIFF_INVALID', message: `the meter's tariff cannot price it (${state.tariffProblem}); fix the tariff first` });
    const now = deps.clock.now();
    const held = state.registerHold;
    const cursor = state.cursor;
    let measured: Measured;
    let action: string;
    let details: Record<string, unknown>;
    switch (resolution.action) {
      case 'accept':
      case 'void': {
        if (!held || !cursor || state.lastRegister === null) return refuse({ ok: false, code: 'REGISTER_NOT_HELD', message: `meter ${props.meterId} has no held register to ${resolution.action}`, field: 'action' });
        if (resolution.action === 'accept' && held !== 'register_jump') {
          return refuse({ ok: false, code: 'REGISTER_NOT_HELD', message: 'a register that went backwards cannot be accepted as consumption: void the range or replace the meter', field: 'action' });
        }
        const at = Math.max(state.lastReadingAt ?? now, cursor.readAt);
        const usage = resolution.action === 'accept' ? state.lastRegister - cursor.register : 0;
        measured = measuredRange(cursor, usage, state.lastRegister, at);
        action = `meter.register_${resolution.action}`;
        details = { reason: resolution.reason, hold: held, fromRegister: cursor.register, toRegister: state.lastRegister, billedUsage: usage };
        break;
      }
      case 'replace': {
        if (cursor && resolution.finalRegister < cursor.register) {
          return refuse({ ok: false, code: 'REGISTER_BELOW_BILLED', message: `the old meter's final register ${resolution.finalRegister} is below its billed register ${cursor.register}`, field: 'finalRegister' });
        }
        const opened: RegisterPosition = { register: resolution.openingRegister, readAt: Math.max(now, cursor?.readAt ?? now) };
        const usage = cursor ? resolution.finalRegister - cursor.register : 0;
        measured = { ...(cursor ? measuredRange(cursor, usage, resolution.finalRegister, now) : { usage: 0, fromRegister: resolution.openingRegister, toRegister: resolution.openingRegister, fromMs: now, toMs: now }), position: opened };
        action = 'meter.replace';
        details = { reason: resolution.reason, hold: held, billedRegister: cursor?.register ?? null, finalRegister: resolution.finalRegister, openingRegister: resolution.openingRegister, billedUsage: usage };
        state.intervals.clear();
        break;
      }
    }
    state.cursor = measured.position;
    state.registerHold = null;
    state.usageWindow = { since: now, used: 0 }; // the operator accounted for everything up to now
    dispatch(props.dormitory, { type: 'MeterResolved', meterId: props.meterId, purse, measured, operator, action, details, held, replyTo });
  }

  function trackInterval(state: MeterState, channel: string, register: number, powerW: number, at: number): void {
    const start = Math.floor(at / INTERVAL_MS) * INTERVAL_MS;
    let acc = state.intervals.get(channel);
    if (acc && acc.start !== start) {
      if (acc.usage > 0 || acc.maxPowerW > 0) {
        dispatch(props.ledger, { type: 'IntervalClosed', record: { meterId: props.meterId, channel, intervalStart: acc.start, usage: acc.usage, maxPowerW: acc.maxPowerW, registerEnd: acc.registerEnd } });
      }
      acc = { start, usage: 0, maxPowerW: 0, lastRegister: acc.lastRegister, registerEnd: acc.registerEnd };
      state.intervals.set(channel, acc);
    }
    if (!acc) {
      acc = { start, usage: 0, maxPowerW: 0, lastRegister: null, registerEnd: register };
      state.intervals.set(channel, acc);
    }
    if (acc.lastRegister !== null && register > acc.lastRegister) acc.usage += register - acc.lastRegister;
    if (acc.lastRegister === null || register >= acc.lastRegister) acc.lastRegister = register;
    acc.registerEnd = register;
    if (Math.abs(powerW) > acc.maxPowerW) acc.maxPowerW = Math.abs(powerW);
  }

  function handleReading(state: MeterState, reading: MeterReading, decodedAtNs: bigint): MeterState {
    // Before anything changes: the state is mutated in place and charges are posted on the
    // way, so a reading that would throw half-way must throw here (crash counted, state kept).
    const defect = readingDefect(reading, props.kind);
    if (defect) throw new TypeError(`malformed reading for meter ${props.meterId}: ${defect}`);
    deps.metrics.readingsHandled.inc({ kind: reading.type });
    const register = reading.type === 'electric' ? reading.energyWh : reading.volumeL;
    let measured: Measured | null = null;
    // A held meter keeps its readings (register, intervals, rules) but bills nothing; only a
    // meter never read before opens its cursor (opening is not consumption), so nothing is lost.
    const held = state.registerHold !== null || state.tariffProblem !== null;
    const outcome = held && state.cursor ? null : measureRegister(state.cursor, register, reading.at, limits, registerWrap);
    switch (outcome?.kind) {
      case undefined:
      case 'idle':
        break;
      case 'opened':
      case 'measured': {
        if (outcome.kind === 'measured') {
          const admitted = admitUsage(state.usageWindow, outcome.measured.usage, deps.clock.now(), limits);
          if (!admitted.ok) {
            const description = `register advanced ${admitted.used} in ${Math.round(admitted.sinceMs / 1000)} s of server time (plausible at most ${admitted.maxPlausible}); billing held until an operator resolves it`;
            state.registerHold = 'register_jump';
            alarm('register_jump', description, reading.at, [{ at: reading.at, register, billed: state.cursor?.register ?? null }]);
            log.warn({ register, cursor: state.cursor?.register }, description);
            break;
          }
          state.usageWindow = admitted.window;
        }
        measured = outcome.measured;
        state.cursor = outcome.measured.position;
        if (outcome.kind === 'measured' && outcome.wrapped) log.info({ from: outcome.measured.fromRegister, register, usage: outcome.measured.usage }, 'register rolled over; billed across the wrap');
        break;
      }
      case 'backwards':
      case 'implausible': {
        const kind: RegisterHoldKind = outcome.kind === 'backwards' ? 'register_backwards' : 'register_jump';
        const description =
          outcome.kind === 'backwards'
            ? `register went backwards: ${outcome.register} < billed ${outcome.cursorRegister}; billing held until an operator resolves it`
            : `register jumped ${outcome.usage} (plausible at most ${outcome.maxPlausible}); billing held until an operator resolves it`;
        // One alarm: the hold stays until an operator accepts, voids or replaces (REST).
        state.registerHold = kind;
        alarm(kind, description, reading.at, [{ at: reading.at, register, billed: state.cursor?.register ?? null }]);
        log.warn({ register, cursor: state.cursor?.register }, description);
        break;
      }
    }
    state.lastRegister = register;
    state.lastReadingAt = reading.at;
    if (!state.online) {
      state.online = true;
      deps.metrics.metersOnline.inc();
      dispatch(props.dormitory, { type: 'MeterOnlineChanged', meterId: props.meterId, online: true, at: reading.at });
    }
    if (reading.type === 'electric') return handleElectric(state, reading, decodedAtNs, measured);
    return handleWater(state, reading, decodedAtNs, measured);
  }

  /** Whole-meter rules: tamper flags and the dormitory's total-power overload. */
  function meterVerdict(state: MeterState, verdict: RuleVerdict, decodedAtNs: bigint | undefined): void {
    if (verdict.action === 'none') return;
    const reason = verdict.reason;
    if (verdict.action === 'alarm' || verdict.action === 'cut') {
      dispatch(props.ledger, {
        type: 'AlarmRaised',
        record: { dormitoryId: props.dormitoryId, meterId: props.meterId, gatewayId: null, circuit: null, kind: reason, severity: 'critical', message: verdict.detail, evidence: verdict.evidence ?? [], raisedAt: deps.clock.now() },
      });
      dispatch(props.ledger, { type: 'Audited', record: { operator: 'system', action: `meter.${verdict.action}`, targetType: 'meter', targetId: props.meterId, details: { reason, detail: verdict.detail } } });
    }
    if (verdict.action === 'cut') {
      for (const circuit of state.circuits.values()) dispatch(circuit, { type: 'ImposeCut', target: 'all', reason, active: true, requestedBy: 'system', causedAtNs: decodedAtNs });
      if (reason === 'overload') {
        const result = evaluateReclosePolicy(state.rules.reclose, state.reclose, { type: 'tripped', reason, at: deps.clock.now(), zone: state.pricing.zone });
        state.reclose = result.state;
        if (result.verdict.action === 'alarm') meterVerdict(state, { ...result.verdict, action: 'alarm' }, undefined);
        if (result.state.recloseAt !== null && state.self) {
          const self = state.self;
          deps.clock.schedule(result.state.recloseAt - deps.clock.now(), () => dispatch(self, { type: 'RecloseDue' }));
        }
      }
    }
    if (verdict.action === 'restore') {
      for (const circuit of state.circuits.values()) dispatch(circuit, { type: 'ImposeCut', target: 'all', reason, active: false, requestedBy: 'system' });
      dispatch(props.ledger, { type: 'AlarmCleared', clearance: { dormitoryId: props.dormitoryId, circuit: null, kind: reason } });
    }
  }

  function handleElectric(state: MeterState, reading: ElectricReading, decodedAtNs: bigint, measured: Measured | null): MeterState {
    trackInterval(state, 'main', reading.energyWh, reading.powerW, reading.at);
    const tamper = evaluateTamper(state.rules.tamper, state.tamper, reading.flags);
    state.tamper = tamper.state;
    meterVerdict(state, tamper.verdict, decodedAtNs);
    const overload = evaluateOverload(state.rules.overloadDormitory, state.overload, ruleSampleOf(reading.at, reading));
    state.overload = overload.state;
    meterVerdict(state, overload.verdict, decodedAtNs);
    for (const sample of reading.circuits) {
      trackInterval(state, sample.kind, sample.energyWh, sample.powerW, reading.at);
      const circuit = state.circuits.get(sample.kind);
      if (circuit) dispatch(circuit, { type: 'Sampled', sample, at: reading.at, decodedAtNs });
    }
    if (reading.relayClosed !== undefined) {
      const main = state.circuits.get('main');
      if (main) dispatch(main, { type: 'RelayReadBack', closed: reading.relayClosed, at: reading.at, decodedAtNs });
    }
    dispatch(props.dormitory, {
      type: 'MeterReported',
      meterId: props.meterId,
      purse,
      measured,
      powerW: reading.powerW,
      circuits: reading.circuits,
      at: reading.at,
      decodedAtNs,
    });
    return state;
  }

  function handleWater(state: MeterState, reading: WaterReading, decodedAtNs: bigint, measured: Measured | null): MeterState {
    trackInterval(state, 'water', reading.volumeL, 0, reading.at);
    const valve = state.circuits.get('valve');
    if (valve) dispatch(valve, { type: 'RelayReadBack', closed: reading.valveOpen, at: reading.at, decodedAtNs });
    dispatch(props.dormitory, { type: 'MeterReported', meterId: props.meterId, purse, measured, powerW: 0, circuits: [], at: reading.at, decodedAtNs });
    return state;
  }

  /** The persisted part (tamper flags, overload reclose) goes to the ledger when it changes. */
  let saved: MeterControlState = props.boot?.control ?? { tamper: initialTamperState(), reclose: initialReclosePolicyState() };
  const persisted =
    (behaviour: (state: MeterState, msg: MeterMsg) => MeterState) =>
    (state: MeterState, msg: MeterMsg): MeterState => {
      const next = behaviour(state, msg);
      if (next.tamper === saved.tamper && next.reclose === saved.reclose) return next;
      const before = JSON.stringify(saved);
      saved = { tamper: next.tamper, reclose: next.reclose };
      if (JSON.stringify(saved) !== before) dispatch(props.ledger, { type: 'ControlChanged', record: { dormitoryId: props.dormitoryId, actorKey: meterControlKey(props.meterId), state: saved } });
      return next;
    };

  return spawnActor<MeterState, MeterMsg>(
    parent,
    persisted((state, msg) => {
      switch (msg.type) {
        case 'ReadingArrived': {
          // The gateway's slot holds the newest reading of this meter (newer ones replaced the one sent).
          const slot = msg.slot;
          const reading = slot?.reading ?? msg.reading;
          const decodedAtNs = slot ? slot.decodedAtNs : msg.decodedAtNs;
          if (slot) slot.queued = false;
          if (state.retired) return state;
          return handleReading(state, reading, decodedAtNs);
        }
        case 'OnlineChanged':
          if (state.online !== msg.online) {
            state.online = msg.online;
            if (msg.online) deps.metrics.metersOnline.inc();
            else deps.metrics.metersOnline.dec();
            dispatch(props.dormitory, { type: 'MeterOnlineChanged', meterId: props.meterId, online: msg.online, at: msg.at });
          }
          return state;
        case 'ImposeCut':
          for (const [target, circuit] of state.circuits) if (msg.target === 'all' || msg.target === target) dispatch(circuit, msg);
          return state;
        case 'FlushBilling':
          if (msg.retire) state.retired = true;
          if (msg.replyTo) dispatch(msg.replyTo, { type: 'BillingFlushed', meterId: props.meterId, requestId: msg.requestId });
          return state;
        case 'RulesChanged':
          state.rules = msg.rules;
          for (const circuit of state.circuits.values()) dispatch(circuit, msg);
          return state;
        case 'LightsChanged':
          for (const circuit of state.circuits.values()) dispatch(circuit, msg);
          return state;
        case 'OperatorRelease': {
          for (const [target, circuit] of state.circuits) if (msg.circuit === null || msg.circuit === target) dispatch(circuit, msg);
          if (msg.circuit === null) {
            const result = evaluateReclosePolicy(state.rules.reclose, state.reclose, { type: 'releasedByOperator', at: deps.clock.now(), zone: state.pricing.zone });
            state.reclose = result.state;
            meterVerdict(state, result.verdict, undefined);
            meterVerdict(state, { action: 'restore', reason: 'tamper', detail: `released by ${msg.operator}` }, undefined);
          }
          return state;
        }
        case 'RecloseDue': {
          const result = evaluateReclosePolicy(state.rules.reclose, state.reclose, { type: 'tick', at: deps.clock.now(), zone: state.pricing.zone });
          state.reclose = result.state;
          meterVerdict(state, result.verdict, undefined);
          return state;
        }
        case 'ResolveRegister':
          resolveRegister(state, msg.resolution, msg.operator, msg.replyTo);
          return state;
        case 'GetMeter':
          dispatch(msg.replyTo, {
            meterId: props.meterId,
            kind: props.kind,
            online: state.online,
            register: state.lastRegister,
            billedRegister: state.cursor?.register ?? null,
            pendingAmount: msg.pendingAmount,
            hold: state.registerHold ?? (state.tariffProblem === null ? null : TARIFF_INVALID_ALARM),
          });
          return state;
      }
    }),
    actorName(props.kind === 'electric' ? 'meter' : 'water', props.meterId),
    {
      initialStateFunc: (ctx) => {
        const circuits = new Map<SupplyTarget, Ref<CircuitMsg>>();
        for (const target of props.targets) {
          circuits.set(
            target,
            spawnCircuit(
              ctx.self as Ref<unknown>,
              {
                circuitId: `${props.meterId}:${target}`,
                target,
                meterId: props.meterId,
                dormitoryId: props.dormitoryId,
                unitAddress: props.unitAddress,
                gateway: props.gateway,
                ledger: props.ledger,
                dormitory: props.dormitory,
                rules: props.rules,
                zone: props.pricing.zone,
                initialReasons: props.boot?.circuits.get(target)?.reasons ?? [],
                saved: props.boot?.circuits.get(target)?.saved,
                lightsOn: props.boot?.lightsOn ?? true,
              },
              deps,
            ),
          );
        }
        dispatch(props.gateway, { type: 'AttachMeter', endpoint: { unitAddress: props.unitAddress, profile: props.profile }, dormitoryId: props.dormitoryId, meter: ctx.self as Ref<MeterInbound> });
        // A dormitory overload cooling down when the server stopped recloses when it is due.
        if (saved.reclose.phase === 'cooling' && saved.reclose.recloseAt !== null) {
          const self = ctx.self as Ref<MeterMsg>;
          deps.clock.schedule(Math.max(0, saved.reclose.recloseAt - deps.clock.now()), () => dispatch(self, { type: 'RecloseDue' }));
        }
        // Holds survive restarts and reloads through their active alarms: restored, not raised again.
        const registerHold = REGISTER_HOLD_KINDS.find((kind) => props.activeHolds.includes(kind)) ?? null;
        const tariffAlarmActive = props.activeHolds.includes(TARIFF_INVALID_ALARM);
        if (props.tariffProblem !== null && !tariffAlarmActive) {
          const message = `tariff cannot price meter ${props.meterId}: ${props.tariffProblem}; its billing is held (readings kept, nothing billed) until the tariff is fixed`;
          log.error({ problem: props.tariffProblem }, message);
          alarm(TARIFF_INVALID_ALARM, message, deps.clock.now(), [{ problem: props.tariffProblem }]);
        }
        if (props.tariffProblem === null && tariffAlarmActive) {
          dispatch(props.ledger, { type: 'AlarmCleared', clearance: { dormitoryId: props.dormitoryId, meterId: props.meterId, circuit: null, kind: TARIFF_INVALID_ALARM } });
        }
        return {
          cursor: props.cursor === null ? null : { register: props.cursor.register, readAt: props.cursor.readAt },
          usageWindow: { since: Math.min(props.cursor?.readAt ?? deps.clock.now(), deps.clock.now()), used: 0 },
          pricing: props.pricing,
          online: false,
          lastRegister: null,
          lastReadingAt: null,
          registerHold,
          tariffProblem: props.tariffProblem,
          circuits,
          intervals: new Map(),
          rules: props.rules,
          retired: false,
          tamper: saved.tamper,
          overload: initialOverloadState(),
          reclose: saved.reclose,
          self: ctx.self as Ref<MeterMsg>,
        };
      },
      onCrash: resumeOnCrash(deps, 'meter'),
      afterStop: (state) => {
        if (state.online) deps.metrics.metersOnline.dec();
      },
    },
  );
}

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/**
 * What is wrong with a reading's shape for a meter of `kind` (undefined when nothing is). The
 * drivers decode strictly, so this only catches a programming error upstream; the register's
 * value itself is judged by billing (backwards / implausible), not here.
 */
export function readingDefect(reading: MeterReading, kind: 'electric' | 'water'): string | undefined {
  if (typeof reading !== 'object' || reading === null) return 'not an object';
  if (reading.type !== kind) return `a ${String(reading.type)} reading for a ${kind} meter`;
  if (!isFiniteNumber(reading.at)) return 'at is not a finite number';
  if (reading.type === 'water') return typeof reading.valveOpen === 'boolean' ? undefined : 'valveOpen is not a boolean';
  for (const key of ['voltageV', 'currentA', 'powerW', 'powerFactor'] as const) if (!isFiniteNumber(reading[key])) return `${key} is not a finite number`;
  if (reading.relayClosed !== undefined && typeof reading.relayClosed !== 'boolean') return 'relayClosed is not a boolean';
  if (typeof reading.flags !== 'object' || reading.flags === null || typeof reading.flags.coverOpen !== 'boolean' || typeof reading.flags.reverseConnection !== 'boolean') return 'flags are malformed';
  if (!Array.isArray(reading.circuits)) return 'circuits is not an array';
  for (const c of reading.circuits as readonly unknown[]) {
    const sample = c as Partial<Record<keyof CircuitSample, unknown>> | null;
    if (typeof sample !== 'object' || sample === null || !(CIRCUIT_KINDS as readonly unknown[]).includes(sample.kind)) return 'a circuit sample is malformed';
    for (const key of ['voltageV', 'currentA', 'powerW', 'powerFactor', 'energyWh'] as const) if (!isFiniteNumber(sample[key])) return `circuit ${String(sample.kind)}: ${key} is not a finite number`;
    if (typeof sample.relayClosed !== 'boolean') return `circuit ${String(sample.kind)}: relayClosed is not a boolean`;
  }
  return undefined;
}
