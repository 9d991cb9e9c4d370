import type { TimeZone } from '../domain/local-time.ts';
import { randomUUID } from 'node:crypto';
import type { CircuitSample, SupplyAction, SupplyTarget } from '../domain/reading.ts';
import { evaluateAcStandby, initialAcStandbyState, type AcStandbyState } from '../domain/rules/ac-standby.ts';
import { evaluateLowCurrent, initialLowCurrentState, type LowCurrentState } from '../domain/rules/low-current.ts';
import { evaluateMalignantLoad, initialMalignantLoadState, type MalignantLoadState } from '../domain/rules/malignant-load.ts';
import { evaluateOverload, initialOverloadState, type OverloadState } from '../domain/rules/overload.ts';
import { evaluateReclosePolicy, initialReclosePolicyState, type ReclosePolicyState } from '../domain/rules/reclose-policy.ts';
import { overloadConfigFor, type RuleBook } from '../domain/rules/rule-book.ts';
import { ruleSampleOf } from '../domain/rules/rule-sample.ts';
import type { RuleResult, RuleVerdict } from '../domain/rules/rule-verdict.ts';
import type { CutReason } from '../domain/supply.ts';
import { circuitControlKey, restoredAcStandby, restoredLowCurrent, ruleOwnedReasons, type CircuitControlState } from '../domain/control-state.ts';
import type { ControlStateRecord } from '../db/control-state.repository.ts';
import type { CommandOutcome, SupplyCommand } from '../drivers/gateway-driver.ts';
import type { ActorDeps } from './actor-deps.ts';
import { resumeOnCrash } from './actor-deps.ts';
import { nextControlSeq } from './control-sequence.ts';
import type { GatewayMsg } from './gateway.actor.ts';
import type { LedgerMsg } from './ledger.actor.ts';
import type { CommandRecord } from './ledger-writer.ts';
import type { CircuitReported, ImposeCut } from './messages.ts';
import { actorName, dispatch, spawnActor, type Ref } from './nact.ts';

type SendCommand = Extract<GatewayMsg, { type: 'SendCommand' }>;

/** A circuit (or a single-relay meter's main relay, or a water valve) and its switch. */
export type CircuitMsg =
  | { readonly type: 'Sampled'; readonly sample: CircuitSample; readonly at: number; readonly decodedAtNs: bigint }
  | { readonly type: 'RelayReadBack'; readonly closed: boolean; readonly at: number; readonly decodedAtNs: bigint }
  | ImposeCut
  | {
      readonly type: 'CommandOutcome';
      readonly commandId: string;
      readonly outcome: CommandOutcome;
      readonly detail: string;
      /** The command failed while its gateway was offline: the gateway's one outage alarm covers it. */
      readonly coveredByOutage?: boolean;
      /** The driver stopped with it in flight (a shutdown): outcome unknown, no alarm; the restarted circuit reconciles the relay. */
      readonly interrupted?: boolean;
      /** The driver put it on the wire, to a gateway not known offline, before it failed (it may have switched the relay). */
      readonly sent?: boolean;
    }
  | { readonly type: 'GetCircuit'; readonly replyTo: Ref<CircuitView> }
  | { readonly type: 'RulesChanged'; readonly rules: RuleBook }
  | { readonly type: 'LightsChanged'; readonly lightsOn: boolean; readonly at: number }
  | { readonly type: 'OperatorRelease'; readonly operator: string }
  | { readonly type: 'RecloseDue' }
  /** A cut's write-ahead is over (committed, queued or out of time): the cut may go to the driver. */
  | { readonly type: 'CommandPersisted'; readonly commandId: string };

export interface CircuitView {
  readonly target: SupplyTarget;
  readonly supply: 'on' | 'off' | 'unknown';
  readonly relayClosed: boolean | null;
  readonly powerW: number;
  readonly pf: number;
  readonly cutReasons: readonly CutReason[];
  readonly commandInFlight: { readonly id: string; readonly action: SupplyAction } | null;
}

export interface CircuitProps {
  readonly circuitId: string;
  readonly target: SupplyTarget;
  readonly meterId: string;
  readonly dormitoryId: string;
  readonly unitAddress: string;
  readonly gateway: Ref<GatewayMsg>;
  readonly ledger: Ref<LedgerMsg>;
  readonly dormitory: Ref<CircuitReported>;
  /**
   * Cut reasons in force when the circuit is spawned (boot or reload: arrears, manual, the
   * schedule's, the rules' own; src/domain/control-state.ts). The first read-back of an open
   * relay then finds its reason and sends no restore.
   */
  readonly initialReasons?: readonly CutReason[];
  /** The rules' states from the last snapshot (latches, AC probation, reclose counts, lock-out). */
  readonly saved?: CircuitControlState | undefined;
  /** The lighting phase at spawn (low-current mode applies while the lights are off). */
  readonly lightsOn?: boolean;
  readonly rules: RuleBook;
  /** The campus's zone: reclose day counts follow its local days. */
  readonly zone: TimeZone;
}

/** The safety rules' own states (docs/rules.md): pure values, advanced on every sample. */
interface RuleStates {
  readonly overload: OverloadState;
  readonly lowCurrent: LowCurrentState;
  readonly malignant: MalignantLoadState;
  readonly acStandby: AcStandbyState;
  readonly reclose: ReclosePolicyState;
}

interface CircuitState {
  readonly reasons: ReadonlySet<CutReason>;
  /** The last sample's: written in place by each reading (`Sampled`); the rest of the state is replaced when it changes. */
  relayClosed: boolean | null;
  powerW: number;
  pf: number;
  /** `persisting`: a cut being written ahead, not yet handed to the gateway (a reading meanwhile sends nothing more). */
  readonly inFlight: {
    readonly id: string;
    readonly action: SupplyAction;
    readonly reason: CutReason | 'restore';
    readonly persisting: boolean;
    readonly record: CommandRecord;
    /** The relay as last read when the command was decided (null: not read yet). */
    readonly relayBefore: boolean | null;
  } | null;
  readonly lastFailureAt: number | null;
  /**
   * A command the driver reported failed after putting it on the wire, with the relay read the
   * other way when it was decided (its read-back or ack was lost, say). Two consecutive readings
   * sampled after the failure (distinct sample times), within `commandRetryMs` of it, that show the
   * relay where the command sent it record the command confirmed after all and clear the alarm its
   * failure raised; a reading that shows it the other way starts the count again (one stale or
   * glitched frame confirms nothing); another command, or the end of that window, forgets it. Not
   * persisted: after a restart the failed row stays.
   */
  readonly unconfirmed: { readonly record: CommandRecord; readonly failedAt: number; readonly alarmRaised: boolean; readonly seen: readonly number[] } | null;
  readonly lastReported: string;
  readonly rules: RuleBook;
  readonly ruleStates: RuleStates;
  readonly lightsOn: boolean;
}

/** Consecutive readings after a failure that must show the relay switched before the command counts as confirmed. */
const CONFIRMING_READINGS = 2;

const supplyOf = (relayClosed: boolean | null): 'on' | 'off' | 'unknown' => (relayClosed === null ? 'unknown' : relayClosed ? 'on' : 'off');

/**
 * The circuit decides its relay: closed only when no cut reason holds. It compares that
 * with the relay state the meter reads back, and sends a command when they differ and none
 * is in flight (a lost command is therefore re-sent after `commandRetryMs`). The commands it
 * sends carry the decode time of the reading that caused them, for the latency histogram.
 */
export function spawnCircuit(parent: Ref<unknown>, props: CircuitProps, deps: ActorDeps): Ref<CircuitMsg> {
  const initial: CircuitState = {
    reasons: new Set(props.initialReasons ?? []),
    relayClosed: null,
    powerW: 0,
    pf: 0,
    inFlight: null,
    lastFailureAt: null,
    unconfirmed: null,
    lastReported: '',
    rules: props.rules,
    ruleStates: {
      overload: initialOverloadState(),
      lowCurrent: restoredLowCurrent(props.saved, initialLowCurrentState()),
      malignant: initialMalignantLoadState(),
      acStandby: restoredAcStandby(props.saved, initialAcStandbyState()),
      reclose: props.saved?.reclose ?? initialReclosePolicyState(),
    },
    lightsOn: props.lightsOn ?? true,
  };
  const kind = props.target === 'lighting' || props.target === 'socket' || props.target === 'ac' ? props.target : null;

  function alarm(kindOfAlarm: string, severity: 'info' | 'warning' | 'critical', message: string, evidence: readonly unknown[]): void {
    dispatch(props.ledger, {
      type: 'AlarmRaised',
      record: { dormitoryId: props.dormitoryId, meterId: props.meterId, gatewayId: null, circuit: props.target, kind: kindOfAlarm, severity, message, evidence, raisedAt: deps.clock.now() },
    });
  }

  function audit(action: string, details: Record<string, unknown>): void {
    dispatch(props.ledger, { type: 'Audited', record: { operator: 'system', action, targetType: 'circuit', targetId: props.circuitId, details } });
  }

  /**
   * Applies one rule verdict: a cut adds its reason (and, for trips, starts the reclose
   * policy), a restore lifts it, an alarm only alarms. Every cut raises an alarm with its
   * evidence and is audited; a restore clears the alarm it raised.
   */
  function apply(state: CircuitState, verdict: RuleVerdict): CircuitState {
    if (verdict.action === 'none') return state;
    const reason = verdict.reason as CutReason;
    const schedule = reason === 'lights_off' || reason === 'holiday';
    switch (verdict.action) {
      case 'alarm':
        alarm(reason, 'warning', verdict.detail, verdict.evidence ?? []);
        audit('circuit.alarm', { reason, detail: verdict.detail });
        return state;
      case 'cut': {
        if (state.reasons.has(reason)) return state;
        const reasons = new Set(state.reasons);
        reasons.add(reason);
        alarm(reason, schedule ? 'info' : 'critical', verdict.detail, verdict.evidence ?? []);
        audit('circuit.cut', { reason, detail: verdict.detail });
        let next: CircuitState = { ...state, reasons, lastFailureAt: null };
        if (reason === 'malignant_load' || reason === 'overload') {
          const reclosed = evaluateReclosePolicy(state.rules.reclose, state.ruleStates.reclose, { type: 'tripped', reason, at: deps.clock.now(), zone: props.zone });
          next = { ...next, ruleStates: { ...next.ruleStates, reclose: reclosed.state } };
          if (reclosed.verdict.action === 'alarm') {
            alarm('lockout', 'critical', `${reason}: ${reclosed.verdict.detail}`, verdict.evidence ?? []);
            audit('circuit.lockout', { reason, detail: reclosed.verdict.detail });
          }
          if (reclosed.state.recloseAt !== null) {
            const self = ctxSelf!;
            deps.clock.schedule(reclosed.state.recloseAt - deps.clock.now(), () => dispatch(self, { type: 'RecloseDue' }));
          }
        }
        return next;
      }
      case 'restore': {
        if (!state.reasons.has(reason)) return state;
        const reasons = new Set(state.reasons);
        reasons.delete(reason);
        dispatch(props.ledger, { type: 'AlarmCleared', clearance: { dormitoryId: props.dormitoryId, circuit: props.target, kind: reason } });
        audit('circuit.restore', { reason, detail: verdict.detail });
        return { ...state, reasons, lastFailureAt: null };
      }
    }
  }

  function step<S>(state: CircuitState, result: RuleResult<S>, key: keyof RuleStates): CircuitState {
    const changed = (state.ruleStates[key] as unknown) !== (result.state as unknown);
    const next = changed ? { ...state, ruleStates: { ...state.ruleStates, [key]: result.state } } : state;
    return apply(next, result.verdict);
  }

  /** Runs the circuit's rules on one sample (cheap: most calls return their state unchanged). */
  function evaluateRules(state: CircuitState, sample: CircuitSample, at: number): CircuitState {
    if (!kind) return state;
    const ruleSample = ruleSampleOf(at, sample);
    let next = step(state, evaluateOverload(overloadConfigFor(state.rules, kind), state.ruleStates.overload, ruleSample), 'overload');
    if (kind === 'socket') {
      next = step(next, evaluateLowCurrent(next.rules.lowCurrent, next.ruleStates.lowCurrent, { type: 'sample', sample: ruleSample, lightsOn: next.lightsOn }), 'lowCurrent');
      next = step(next, evaluateMalignantLoad(next.rules.malignantLoad, next.ruleStates.malignant, ruleSample), 'malignant');
    }
    if (kind === 'ac') next = step(next, evaluateAcStandby(next.rules.acStandby, next.ruleStates.acStandby, { type: 'sample', sample: ruleSample }), 'acStandby');
    return next;
  }

  /**
   * A failed command whose relay a reading sampled (`at`) after the failure shows where it was
   * sent (the relay switched, the read-back or the ack was lost): recorded confirmed by that
   * reading, the command_failed alarm of that command cleared. The control room then sees no false
   * alarm and the command log tells what happened. Past `commandRetryMs` the failure is forgotten.
   */
  function confirmedByReading(state: CircuitState, at: number): CircuitState {
    const failed = state.unconfirmed;
    if (failed === null) return state;
    if (deps.clock.now() - failed.failedAt > deps.commandRetryMs) return { ...state, unconfirmed: null };
    if (at < failed.failedAt) return state;
    if (state.relayClosed !== (failed.record.action === 'restore')) return failed.seen.length === 0 ? state : { ...state, unconfirmed: { ...failed, seen: [] } };
    if (failed.seen.includes(at)) return state; // the same sample again (a repeated frame)
    if (failed.seen.length + 1 < CONFIRMING_READINGS) return { ...state, unconfirmed: { ...failed, seen: [...failed.seen, at] } };
    const { record } = failed;
    dispatch(props.ledger, {
      type: 'CommandChanged',
      record: { ...record, state: 'confirmed', completedAt: deps.clock.now(), detail: `confirmed by a reading of ${props.target} ${record.action === 'restore' ? 'on' : 'off'} after the driver reported it failed (${record.detail ?? 'no detail'})` },
    });
    if (failed.alarmRaised) dispatch(props.ledger, { type: 'AlarmCleared', clearance: { dormitoryId: props.dormitoryId, meterId: props.meterId, circuit: props.target, kind: 'command_failed', commandId: record.id } });
    return { ...state, unconfirmed: null };
  }

  // What `report` last looked at: a reading that changes none of it costs no allocation.
  let reportedFrom: { reasons: ReadonlySet<CutReason>; relayClosed: boolean | null; inFlight: CircuitState['inFlight']; key: string } | undefined;

  function report(state: CircuitState): CircuitState {
    const from = reportedFrom;
    if (from !== undefined && from.key === state.lastReported && from.reasons === state.reasons && from.relayClosed === state.relayClosed && from.inFlight === state.inFlight) return state;
    const view: CircuitReported = {
      type: 'CircuitReported',
      meterId: props.meterId,
      target: props.target,
      supply: supplyOf(state.relayClosed),
      cutReasons: [...state.reasons],
      commandInFlight: state.inFlight?.action ?? null,
    };
    const key = `${view.supply}|${view.cutReasons.join(',')}|${view.commandInFlight}`;
    reportedFrom = { reasons: state.reasons, relayClosed: state.relayClosed, inFlight: state.inFlight, key };
    if (key === state.lastReported) return state;
    dispatch(props.dormitory, view);
    return { ...state, lastReported: key };
  }

  function reconcile(state: CircuitState, causedAtNs: bigint | undefined, requestedBy: string): CircuitState {
    const wantClosed = state.reasons.size === 0;
    if (state.relayClosed === wantClosed) return state.inFlight ? state : state;
    const action: SupplyAction = wantClosed ? 'restore' : 'cut';
    if (state.inFlight && state.inFlight.action === action) return state;
    if (state.inFlight === null && state.lastFailureAt !== null && deps.clock.now() - state.lastFailureAt < deps.commandRetryMs && requestedBy === 'system') {
      return state;
    }
    // Unknown relay state (meter not read yet): only act on cuts; a restore waits for a read-back.
    if (state.relayClosed === null && action === 'restore') return state;
    const commandId = `${props.circuitId}:${randomUUID()}`;
    const reason: CutReason | 'restore' = wantClosed ? 'restore' : [...state.reasons][0]!;
    const command: SupplyCommand = { commandId, unitAddress: props.unitAddress, target: props.target, action };
    const send: SendCommand = {
      type: 'SendCommand',
      command,
      dormitoryId: props.dormitoryId,
      meterId: props.meterId,
      reason: wantClosed ? 'restore' : [...state.reasons].join(','),
      requestedBy,
      causedAtNs,
      replyTo: parentSelf!,
    };
    const record: CommandRecord = {
      id: commandId,
      dormitoryId: props.dormitoryId,
      meterId: props.meterId,
      target: props.target,
      action,
      reason: send.reason,
      state: 'requested',
      requestedBy,
      requestedAt: deps.clock.now(),
    };
    const writeAhead = deps.writeAhead;
    if (action === 'cut' && writeAhead) {
      // Write-ahead: the reasons and the command record are committed before the cut goes out,
      // so a crash right after it cannot make the restarted circuit restore (docs/architecture.md).
      (awaitingWriteAhead ??= new Map()).set(commandId, { send: { ...send, writtenAhead: true }, record });
      const self = ctxSelf!;
      const control = controlChange(state)?.record;
      void writeAhead.writeAhead({ ...(control ? { control } : {}), command: record }).then(() => dispatch(self, { type: 'CommandPersisted', commandId }));
      return { ...state, unconfirmed: null, inFlight: { id: commandId, action, reason, persisting: true, record, relayBefore: state.relayClosed } };
    }
    dispatch(props.gateway, send);
    return { ...state, unconfirmed: null, inFlight: { id: commandId, action, reason, persisting: false, record, relayBefore: state.relayClosed } };
  }

  /** Cuts being written ahead, by command id: sent when their write-ahead is over (made at the first: most circuits never cut). */
  let awaitingWriteAhead: Map<string, { readonly send: SendCommand & { readonly writtenAhead: true }; readonly record: CommandRecord }> | undefined;

  /** A cut written ahead that the circuit no longer wants when its write is over: never sent, recorded as failed. */
  function superseded(state: CircuitState, record: CommandRecord): CircuitState {
    dispatch(props.ledger, { type: 'CommandChanged', record: { ...record, state: 'failed', completedAt: deps.clock.now(), detail: 'superseded before it was sent' } });
    return state.inFlight?.id === record.id ? report(reconcile({ ...state, inFlight: null }, undefined, 'system')) : state;
  }

  /**
   * The rule-owned part of the state goes to the ledger's group commit when it changes (the
   * other reasons have their own owners: src/domain/control-state.ts). Cheap on the hot path:
   * rule states are immutable values, compared by identity first.
   */
  const controlOf = (state: CircuitState): CircuitControlState => ({
    reasons: ruleOwnedReasons(state.reasons),
    lowCurrentCut: state.ruleStates.lowCurrent.cut,
    acStandby: { phase: state.ruleStates.acStandby.phase, since: state.ruleStates.acStandby.since },
    reclose: state.ruleStates.reclose,
  });
  let savedFrom: CircuitState = initial;
  let savedControl = controlOf(initial);
  let savedJson = JSON.stringify(savedControl);

  /**
   * `state`'s control record when it differs from the last one persisted (taken as persisted
   * from here on), with whether it adds a rule-owned reason; undefined when nothing changed.
   */
  function controlChange(state: CircuitState): { readonly record: ControlStateRecord; readonly gained: boolean } | undefined {
    const a = state.ruleStates;
    const b = savedFrom.ruleStates;
    if (state.reasons === savedFrom.reasons && a.lowCurrent === b.lowCurrent && a.acStandby === b.acStandby && a.reclose === b.reclose) return undefined;
    savedFrom = state;
    const control = controlOf(state);
    const json = JSON.stringify(control);
    if (json === savedJson) return undefined;
    const before = savedControl.reasons;
    savedControl = control;
    savedJson = json;
    const record: ControlStateRecord = { dormitoryId: props.dormitoryId, actorKey: circuitControlKey(props.meterId, props.target), state: control, seq: nextControlSeq() };
    return { record, gained: control.reasons.some((r) => !before.includes(r)) };
  }

  /**
   * A reason gained without a command (the relay is already off for another reason) is written
   * ahead too, so it still holds the relay after a crash once the other reason lifts; every
   * other change follows the group commit. A cut's own write-ahead happens in `reconcile`.
   */
  const persisted =
    (behaviour: (state: CircuitState, msg: CircuitMsg, ctx: { self: unknown }) => CircuitState) =>
    (state: CircuitState, msg: CircuitMsg, ctx: { self: unknown }): CircuitState => {
      const next = behaviour(state, msg, ctx);
      const change = controlChange(next);
      if (!change) return next;
      if (change.gained && deps.writeAhead) void deps.writeAhead.writeAhead({ control: change.record });
      else dispatch(props.ledger, { type: 'ControlChanged', record: change.record });
      return next;
    };

  let parentSelf: Ref<CircuitMsg> | undefined;
  let ctxSelf: Ref<CircuitMsg> | undefined;

  const ref = spawnActor<CircuitState, CircuitMsg>(
    parent,
    persisted((state, msg, ctx) => {
      parentSelf ??= ctx.self as Ref<CircuitMsg>;
      ctxSelf ??= ctx.self as Ref<CircuitMsg>;
      switch (msg.type) {
        case 'Sampled': {
          // In place: a circuit lives as long as its meter, and a copy of its state per reading only fed the garbage collector.
          state.relayClosed = msg.sample.relayClosed;
          state.powerW = msg.sample.powerW;
          state.pf = msg.sample.powerFactor;
          const sampled = confirmedByReading(state, msg.at);
          const next = evaluateRules(sampled, msg.sample, msg.at);
          return report(reconcile(next, msg.decodedAtNs, 'system'));
        }
        case 'RulesChanged':
          return { ...state, rules: msg.rules };
        case 'LightsChanged': {
          if (kind !== 'socket' || state.lightsOn === msg.lightsOn) return { ...state, lightsOn: msg.lightsOn };
          let next: CircuitState = { ...state, lightsOn: msg.lightsOn };
          if (msg.lightsOn) next = step(next, evaluateLowCurrent(next.rules.lowCurrent, next.ruleStates.lowCurrent, { type: 'lightsOn', at: msg.at }), 'lowCurrent');
          return report(reconcile(next, undefined, 'system'));
        }
        case 'RecloseDue': {
          const now = deps.clock.now();
          const result = evaluateReclosePolicy(state.rules.reclose, state.ruleStates.reclose, { type: 'tick', at: now, zone: props.zone });
          return report(reconcile(step(state, result, 'reclose'), undefined, 'system'));
        }
        case 'OperatorRelease': {
          const now = deps.clock.now();
          let next = step(state, evaluateReclosePolicy(state.rules.reclose, state.ruleStates.reclose, { type: 'releasedByOperator', at: now, zone: props.zone }), 'reclose');
          if (kind === 'socket') next = step(next, evaluateLowCurrent(next.rules.lowCurrent, next.ruleStates.lowCurrent, { type: 'releasedByOperator', at: now }), 'lowCurrent');
          if (kind === 'ac') next = step(next, evaluateAcStandby(next.rules.acStandby, next.ruleStates.acStandby, { type: 'operatorAllowed', at: now }), 'acStandby');
          // Tamper holds until an operator has looked at the meter.
          if (next.reasons.has('tamper')) next = apply(next, { action: 'restore', reason: 'tamper', detail: `released by ${msg.operator}` });
          return report(reconcile(next, undefined, msg.operator));
        }
        case 'RelayReadBack':
          return report(reconcile(confirmedByReading({ ...state, relayClosed: msg.closed }, msg.at), msg.decodedAtNs, 'system'));
        case 'ImposeCut': {
          if (msg.target !== 'all' && msg.target !== props.target) return state;
          const has = state.reasons.has(msg.reason);
          if (has === msg.active) return report(reconcile(state, msg.causedAtNs, msg.requestedBy));
          const reasons = new Set(state.reasons);
          if (msg.active) reasons.add(msg.reason);
          else reasons.delete(msg.reason);
          // An operator's or a money decision is a fresh intent: forget an earlier failure.
          return report(reconcile({ ...state, reasons, lastFailureAt: null }, msg.causedAtNs, msg.requestedBy));
        }
        case 'CommandOutcome': {
          if (!state.inFlight || state.inFlight.id !== msg.commandId) return state;
          if (msg.outcome === 'confirmed') {
            const closed = state.inFlight.action === 'restore';
            return report(reconcile({ ...state, inFlight: null, relayClosed: closed, lastFailureAt: null }, undefined, 'system'));
          }
          const inFlight = state.inFlight;
          const now = deps.clock.now();
          const alarmRaised = msg.coveredByOutage !== true && msg.interrupted !== true;
          if (alarmRaised) dispatch(props.ledger, {
            type: 'AlarmRaised',
            record: {
              dormitoryId: props.dormitoryId,
              meterId: props.meterId,
              gatewayId: null,
              circuit: props.target,
              kind: 'command_failed',
              severity: 'critical',
              message: `${inFlight.action} of ${props.target} was not confirmed: ${msg.detail}`,
              // The command it is about: a reading that shows the relay switched after all clears this alarm, and no other.
              evidence: [{ commandId: inFlight.id }],
              raisedAt: now,
            },
          });
          // Only a command that went out, to a relay read the other way, can have switched it unseen.
          const mayHaveSwitched = msg.sent === true && inFlight.relayBefore !== null && inFlight.relayBefore !== (inFlight.action === 'restore');
          const unconfirmed = mayHaveSwitched ? { record: { ...inFlight.record, state: 'failed' as const, detail: msg.detail }, failedAt: now, alarmRaised, seen: [] } : null;
          return report({ ...state, inFlight: null, lastFailureAt: now, unconfirmed });
        }
        case 'CommandPersisted': {
          const awaiting = awaitingWriteAhead?.get(msg.commandId);
          if (!awaiting) return state;
          awaitingWriteAhead?.delete(msg.commandId);
          const inFlight = state.inFlight;
          // Still wanted: the reasons hold and no other command replaced it meanwhile.
          if (inFlight?.id !== msg.commandId || !inFlight.persisting || state.reasons.size === 0) return superseded(state, awaiting.record);
          dispatch(props.gateway, awaiting.send);
          return report({ ...state, inFlight: { ...inFlight, persisting: false } });
        }
        case 'GetCircuit':
          dispatch(msg.replyTo, {
            target: props.target,
            supply: supplyOf(state.relayClosed),
            relayClosed: state.relayClosed,
            powerW: state.powerW,
            pf: state.pf,
            cutReasons: [...state.reasons],
            commandInFlight: state.inFlight ? { id: state.inFlight.id, action: state.inFlight.action } : null,
          });
          return state;
      }
    }),
    actorName('circuit', props.target),
    { initialState: initial, onCrash: resumeOnCrash(deps, 'circuit') },
  );
  parentSelf = ref;
  ctxSelf = ref;
  // A trip cooling down when the server stopped recloses when it is due (at once if overdue).
  const reclose = initial.ruleStates.reclose;
  if (reclose.phase === 'cooling' && reclose.recloseAt !== null) deps.clock.schedule(Math.max(0, reclose.recloseAt - deps.clock.now()), () => dispatch(ref, { type: 'RecloseDue' }));
  return ref;
}
