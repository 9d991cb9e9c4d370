import { randomUUID } from 'node:crypto';
import type { CircuitSample, SupplyAction, SupplyTarget } from '../domain/reading.ts';
import type { CutReason } from '../domain/supply.ts';
import type { CommandOutcome, SupplyCommand } from '../drivers/gateway-driver.ts';
import type { ActorDeps } from './actor-deps.ts';
import { resumeOnCrash } from './actor-deps.ts';
import type { GatewayMsg } from './gateway.actor.ts';
import type { LedgerMsg } from './ledger.actor.ts';
import type { CircuitReported, ImposeCut } from './messages.ts';
import { actorName, dispatch, spawnActor, type Ref } from './nact.ts';

/** A circuit (or a single-relay meter's main relay, or a water valve) and its switch. */
export type CircuitMsg =
  | { readonly type: 'Sampled'; readonly sample: CircuitSample; readonly at: number; readonly decodedAtNs: bigint }
  | { readonly type: 'RelayReadBack'; readonly closed: boolean; readonly at: number; readonly decodedAtNs: bigint }
  | ImposeCut
  | { readonly type: 'CommandOutcome'; readonly commandId: string; readonly outcome: CommandOutcome; readonly detail: string }
  | { readonly type: 'GetCircuit'; readonly replyTo: Ref<CircuitView> };

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
  /** Cut reasons restored from the last snapshot/boot (e.g. arrears already in force). */
  readonly initialReasons?: readonly CutReason[];
}

interface CircuitState {
  readonly reasons: ReadonlySet<CutReason>;
  readonly relayClosed: boolean | null;
  readonly powerW: number;
  readonly pf: number;
  readonly inFlight: { readonly id: string; readonly action: SupplyAction; readonly reason: CutReason | 'restore' } | null;
  readonly lastFailureAt: number | null;
  readonly lastReported: string;
}

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
    lastReported: '',
  };

  function report(state: CircuitState): CircuitState {
    const view: CircuitReported = {
      type: 'CircuitReported',
      meterId: props.meterId,
      target: props.target,
      supply: supplyOf(state.relayClosed),
      cutReasons: [...state.reasons],
      commandInFlight: state.inFlight?.action ?? null,
    };
    const key = `${view.supply}|${view.cutReasons.join(',')}|${view.commandInFlight}`;
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
    dispatch(props.gateway, {
      type: 'SendCommand',
      command,
      dormitoryId: props.dormitoryId,
      meterId: props.meterId,
      reason: wantClosed ? 'restore' : [...state.reasons].join(','),
      requestedBy,
      causedAtNs,
      replyTo: parentSelf!,
    });
    return { ...state, inFlight: { id: commandId, action, reason } };
  }

  let parentSelf: Ref<CircuitMsg> | undefined;

  const ref = spawnActor<CircuitState, CircuitMsg>(
    parent,
    (state, msg, ctx) => {
      parentSelf ??= ctx.self as Ref<CircuitMsg>;
      switch (msg.type) {
        case 'Sampled': {
          const next = { ...state, relayClosed: msg.sample.relayClosed, powerW: msg.sample.powerW, pf: msg.sample.powerFactor };
          return report(reconcile(next, msg.decodedAtNs, 'system'));
        }
        case 'RelayReadBack':
          return report(reconcile({ ...state, relayClosed: msg.closed }, msg.decodedAtNs, 'system'));
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
          dispatch(props.ledger, {
            type: 'AlarmRaised',
            record: {
              dormitoryId: props.dormitoryId,
              meterId: props.meterId,
              gatewayId: null,
              circuit: props.target,
              kind: 'command_failed',
              severity: 'critical',
              message: `${state.inFlight.action} of ${props.target} was not confirmed: ${msg.detail}`,
              evidence: [],
              raisedAt: deps.clock.now(),
            },
          });
          return report({ ...state, inFlight: null, lastFailureAt: deps.clock.now() });
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
    },
    actorName('circuit', props.target),
    { initialState: initial, onCrash: resumeOnCrash(deps, 'circuit') },
  );
  parentSelf = ref;
  return ref;
}
