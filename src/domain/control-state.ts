/**
 * The control state that decides relays, as it is persisted and restored (docs/architecture.md,
 * "Control state snapshot"). Each cut reason has one owner and one way back after a restart:
 *
 * | reason                      | owner      | restored from                                   |
 * |-----------------------------|------------|-------------------------------------------------|
 * | manual                      | operator   | `manual_cuts`, committed before the 202         |
 * | arrears, water_arrears      | dormitory  | its purse standing (snapshot) + the balance     |
 * | lights_off, holiday         | schedule   | the schedule evaluated at boot (clock + rules)  |
 * | low_current, ac_standby,    | circuit /  | the circuit's and meter's snapshots (latches,   |
 * | malignant_load, overload,   | meter      | reclose counts, lock-outs, tamper flags)        |
 * | tamper                      |            |                                                 |
 *
 * Pure: parsing is defensive (a malformed snapshot is ignored and the rule starts fresh).
 */
import type { PurseStanding } from './arrears.ts';
import type { SupplyTarget } from './reading.ts';
import type { AcStandbyPhase, AcStandbyState } from './rules/ac-standby.ts';
import type { LightingSupply } from './rules/lighting-schedule.ts';
import type { LowCurrentState } from './rules/low-current.ts';
import type { ReclosePhase, ReclosePolicyState } from './rules/reclose-policy.ts';
import type { TamperState } from './rules/tamper.ts';
import { SAFETY_CUT_REASONS, type CutReason } from './supply.ts';

export interface PurseStandings {
  readonly electricity: PurseStanding;
  readonly water: PurseStanding;
}

/** The dormitory's part: the arrears standing of each purse (a cut holds until the restore threshold) and the warning level reached. */
export interface DormitoryControlState {
  readonly standing: PurseStandings;
  readonly warning: { readonly electricity: number; readonly water: number };
}

/** The meter's part: tamper flags already seen, and the reclose policy of the whole-dormitory overload. */
export interface MeterControlState {
  readonly tamper: TamperState;
  readonly reclose: ReclosePolicyState;
}

/** The circuit's part: the rule-owned cut reasons and the rule states that lift them. */
export interface CircuitControlState {
  readonly reasons: readonly CutReason[];
  readonly lowCurrentCut: boolean;
  readonly acStandby: { readonly phase: AcStandbyPhase; readonly since: number | null };
  readonly reclose: ReclosePolicyState;
}

/** Everything restored for one dormitory before its actors act. Circuit keys are `<meterId>:<target>`. */
export interface ControlSnapshot {
  readonly dormitory: DormitoryControlState | null;
  readonly meters: ReadonlyMap<string, MeterControlState>;
  readonly circuits: ReadonlyMap<string, CircuitControlState>;
  readonly manualCuts: ReadonlySet<string>;
}

export const EMPTY_CONTROL_SNAPSHOT: ControlSnapshot = Object.freeze({ dormitory: null, meters: new Map(), circuits: new Map(), manualCuts: new Set<string>() });

export const DORMITORY_CONTROL_KEY = 'dormitory';
export const meterControlKey = (meterId: string): string => `meter:${meterId}`;
export const circuitKey = (meterId: string, target: SupplyTarget | string): string => `${meterId}:${target}`;
export const circuitControlKey = (meterId: string, target: SupplyTarget | string): string => `circuit:${circuitKey(meterId, target)}`;

/** The reasons a circuit persists itself: the safety rules'. The others are restored from their owners. */
export function ruleOwnedReasons(reasons: Iterable<CutReason>): CutReason[] {
  return [...reasons].filter((r) => SAFETY_CUT_REASONS.includes(r)).sort();
}

export interface BootReasonsInput {
  readonly meterKind: 'electric' | 'water';
  readonly target: SupplyTarget;
  readonly standing: PurseStandings;
  readonly waterArrearsCutsElectricity: boolean;
  readonly schedule: LightingSupply;
  readonly manual: boolean;
  readonly persisted: readonly CutReason[];
}

/**
 * The cut reasons a circuit holds when it is spawned (at boot or on a reload), so that its
 * first read-back of an open relay finds a reason and sends no restore.
 */
export function bootCutReasons(input: BootReasonsInput): CutReason[] {
  const reasons = new Set<CutReason>();
  if (input.meterKind === 'water') {
    if (input.standing.water === 'cut') reasons.add('arrears');
    return [...reasons];
  }
  if (input.standing.electricity === 'cut') reasons.add('arrears');
  if (input.standing.water === 'cut' && input.waterArrearsCutsElectricity) reasons.add('water_arrears');
  if (input.schedule === 'holiday') reasons.add('holiday');
  if (input.schedule === 'lights_off' && input.target === 'lighting') reasons.add('lights_off');
  if (input.manual && input.target !== 'valve') reasons.add('manual');
  for (const r of ruleOwnedReasons(input.persisted)) reasons.add(r);
  return [...reasons];
}

// ---- parsing stored JSON (defensive: anything malformed yields null) ----

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumOrNull = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v));
const STANDINGS: readonly PurseStanding[] = ['normal', 'low_balance', 'overdraft', 'cut'];
const RECLOSE_PHASES: readonly ReclosePhase[] = ['closed', 'cooling', 'locked'];
const AC_PHASES: readonly AcStandbyPhase[] = ['monitoring', 'cut', 'probation'];

function parseReclose(v: unknown): ReclosePolicyState | null {
  if (!isObj(v)) return null;
  if (!RECLOSE_PHASES.includes(v.phase as ReclosePhase)) return null;
  if (v.reason !== null && !SAFETY_CUT_REASONS.includes(v.reason as CutReason)) return null;
  if (!isNumOrNull(v.recloseAt) || !isNumOrNull(v.countDay) || typeof v.reclosesToday !== 'number') return null;
  return { phase: v.phase as ReclosePhase, reason: v.reason as ReclosePolicyState['reason'], recloseAt: v.recloseAt, reclosesToday: v.reclosesToday, countDay: v.countDay };
}

export function parseDormitoryControlState(v: unknown): DormitoryControlState | null {
  if (!isObj(v) || !isObj(v.standing) || !isObj(v.warning)) return null;
  const { standing, warning } = v;
  if (!STANDINGS.includes(standing.electricity as PurseStanding) || !STANDINGS.includes(standing.water as PurseStanding)) return null;
  if (typeof warning.electricity !== 'number' || typeof warning.water !== 'number') return null;
  return {
    standing: { electricity: standing.electricity as PurseStanding, water: standing.water as PurseStanding },
    warning: { electricity: warning.electricity, water: warning.water },
  };
}

export function parseMeterControlState(v: unknown): MeterControlState | null {
  if (!isObj(v) || !isObj(v.tamper)) return null;
  const reclose = parseReclose(v.reclose);
  if (!reclose || typeof v.tamper.coverOpen !== 'boolean' || typeof v.tamper.reverseConnection !== 'boolean') return null;
  return { tamper: { coverOpen: v.tamper.coverOpen, reverseConnection: v.tamper.reverseConnection }, reclose };
}

export function parseCircuitControlState(v: unknown): CircuitControlState | null {
  if (!isObj(v) || !Array.isArray(v.reasons) || typeof v.lowCurrentCut !== 'boolean' || !isObj(v.acStandby)) return null;
  const reclose = parseReclose(v.reclose);
  if (!reclose || !AC_PHASES.includes(v.acStandby.phase as AcStandbyPhase) || !isNumOrNull(v.acStandby.since)) return null;
  return {
    reasons: ruleOwnedReasons(v.reasons.filter((r): r is CutReason => typeof r === 'string')),
    lowCurrentCut: v.lowCurrentCut,
    acStandby: { phase: v.acStandby.phase as AcStandbyPhase, since: v.acStandby.since },
    reclose,
  };
}

/** The rule states a circuit resumes with (evidence windows and hold timers start afresh). */
export function restoredLowCurrent(saved: CircuitControlState | undefined, initial: LowCurrentState): LowCurrentState {
  return saved?.lowCurrentCut ? { cut: true, firstOver: null } : initial;
}

export function restoredAcStandby(saved: CircuitControlState | undefined, initial: AcStandbyState): AcStandbyState {
  return saved && saved.acStandby.phase !== 'monitoring' ? { phase: saved.acStandby.phase, unpluggedSince: null, firstForeign: null, since: saved.acStandby.since } : initial;
}
