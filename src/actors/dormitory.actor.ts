import type { Purse } from '../db/database.ts';
import { assessPurse, type ArrearsPolicy, type PurseStanding } from '../domain/arrears.ts';
import type { CircuitKind, SupplyAction, SupplyTarget } from '../domain/reading.ts';
import type { CutReason } from '../domain/supply.ts';
import { evaluateLightingSchedule, initialLightingScheduleState, type LightingScheduleState } from '../domain/rules/lighting-schedule.ts';
import type { RuleBook } from '../domain/rules/rule-book.ts';
import { primaryCutReason } from '../domain/supply.ts';
import type { CircuitLiveState, DormitoryLiveState, DormitoryState } from '../live/live-feed.ts';
import type { ActorDeps } from './actor-deps.ts';
import { resumeOnCrash } from './actor-deps.ts';
import type { LedgerMsg } from './ledger.actor.ts';
import type { LiveMsg } from './live.actor.ts';
import type { CircuitReported, MeterOnlineChanged, MeterReported, MeterResolved } from './messages.ts';
import type { RegisterResolution, RegisterResolved } from '../domain/register-hold.ts';
import { accumulateCharge, chargeMeasured, type Measured, type MeterTariff, type PendingCharge, type RegisterPosition } from '../domain/register-billing.ts';
import { applyQuotaTopUp, initialBillingState, moveQuota, type BillingState, type QuotaMove, type QuotaTopUp } from '../domain/tariff.ts';
import { startOfLocalDay } from '../domain/settlement/local-day.ts';
import { quotaLapseDueAt } from '../domain/quota.ts';
import { postingDue, postingPhaseMs } from '../domain/posting-schedule.ts';
import type { TimeZone } from '../domain/local-time.ts';
import { spawnMeter, type BillingFlushed, type MeterMsg, type MeterProps, type MeterView } from './meter.actor.ts';
import { actorName, dispatch, spawnActor, type Ref } from './nact.ts';
import { bootCutReasons, circuitKey, DORMITORY_CONTROL_KEY, EMPTY_CONTROL_SNAPSHOT, type CircuitControlState, type ControlSnapshot, type DormitoryControlState } from '../domain/control-state.ts';

export type DormitoryMsg =
  | MeterReported
  | MeterResolved
  | MeterOnlineChanged
  | CircuitReported
  /** A committed credit (or debit) of one purse, by its ledger entry: applied unless the balance loaded at spawn includes it. */
  | { readonly type: 'CreditApplied'; readonly purse: Purse; readonly amount: number; readonly ledgerEntryId: number }
  | {
      readonly type: 'ManualCommand';
      readonly circuit: CircuitKind | 'all';
      readonly action: SupplyAction;
      readonly reason: string;
      readonly operator: string;
      readonly replyTo: Ref<ManualCommandAccepted>;
    }
  | { readonly type: 'PolicyChanged'; readonly policy: DormitoryPolicy }
  /** A tariff of this dormitory got a new version: each meter's schedule, by meter id. */
  | { readonly type: 'PricingChanged'; readonly pricing: ReadonlyMap<string, MeterTariff> }
  | { readonly type: 'RulesChanged'; readonly rules: RuleBook }
  | { readonly type: 'ScheduleDue'; readonly generation: number }
  | { readonly type: 'OperatorRelease'; readonly meterId: string | null; readonly circuit: SupplyTarget | null; readonly operator: string }
  | { readonly type: 'GetDormitory'; readonly replyTo: Ref<DormitoryLiveState> }
  | { readonly type: 'AlarmsCounted'; readonly activeAlarms: number }
  /** The hourly days-of-credit estimate (src/services/days-left.service.ts): shown on the live feed. */
  | { readonly type: 'DaysLeftEstimated'; readonly daysLeft: NonNullable<DormitoryLiveState['daysLeft']> }
  | BillingFlushed
  /** Forwarded to the meter, which answers `replyTo` itself. */
  | { readonly type: 'ResolveRegister'; readonly meterId: string; readonly resolution: RegisterResolution; readonly operator: string; readonly replyTo: Ref<RegisterResolved> }
  | { readonly type: 'GetMeter'; readonly meterId: string; readonly replyTo: Ref<MeterView> }
  /**
   * Every meter posts its pending charge to the ledger; the reply comes after all of them did.
   * `retire` also stops their billing (the dormitory is about to be rebuilt from the database).
   */
  | { readonly type: 'FlushBilling'; readonly retire?: boolean; readonly replyTo: Ref<DormitoryFlushed> }
  /** The room's occupants now (after a check-in, exchange or check-out): a per-occupant quota grants by it. */
  | { readonly type: 'OccupantsChanged'; readonly occupants: number; readonly stays?: readonly number[] }
  /**
   * The office issues the purse's quota for the period now (idempotent per period): granted,
   * handed to the ledger after the purse's pending charges, answered. The caller commits the ledger.
   */
  /** `audit`: the issuance's audit row for this room, written with the grant (its outcome added). */
  | { readonly type: 'IssueQuota'; readonly purse: Purse; readonly occupants: number; readonly operator: string; readonly audit?: QuotaIssueAudit; readonly replyTo: Ref<QuotaIssued> }
  | { readonly type: 'QuotaExpiryDue'; readonly generation: number }
  /** A late occupant's allowance, already in the ledger and the committed state: added to the purse's quota once (applyQuotaTopUp). */
  | { readonly type: 'QuotaToppedUp'; readonly purse: Purse; readonly topUp: QuotaTopUp }
  /** Each purse's billing state as the dormitory holds it now (quota granted, used, left). */
  | { readonly type: 'GetPurseStates'; readonly replyTo: Ref<PurseStates> };

/** The audit row of an issuance, less what only the grant knows (units, period). */
export interface QuotaIssueAudit {
  readonly action: string;
  readonly targetType: string;
  readonly targetId: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface QuotaIssued {
  readonly type: 'QuotaIssued';
  /** Units granted now (0: the period was already granted, or nothing to grant). */
  readonly granted: number;
  /** The purse has a free quota policy. */
  readonly hasPolicy: boolean;
  readonly state: BillingState | null;
}

export interface PurseStates {
  readonly type: 'PurseStates';
  readonly electricity: BillingState | null;
  readonly water: BillingState | null;
}

export interface DormitoryFlushed {
  readonly type: 'DormitoryFlushed';
  readonly meters: number;
}

export interface ManualCommandAccepted {
  readonly circuits: readonly { readonly meterId: string; readonly target: SupplyTarget; readonly stillCutBy: readonly CutReason[] }[];
}

export interface DormitoryPolicy {
  readonly arrears: ArrearsPolicy;
  /** Water purse in arrears cuts electricity too (per campus). */
  readonly waterArrearsCutsElectricity: boolean;
}

export interface DormitoryProps {
  readonly id: string;
  readonly building: string;
  readonly floor: number;
  readonly room: string;
  readonly balance: { readonly electricity: number; readonly water: number };
  /** The last ledger entry each loaded balance includes (src/db/topology.repository.ts); absent: none. */
  readonly balanceThroughEntry?: { readonly electricity: number; readonly water: number };
  readonly policy: DormitoryPolicy;
  /** Meter actors to spawn as children (minus the dormitory ref, filled in here). */
  readonly meters: readonly Omit<MeterProps, 'dormitory' | 'ledger'>[];
  readonly rules: RuleBook;
  readonly holidayOff: boolean;
  /** The campus's zone: the lighting schedule, the holiday calendar and quota days follow its wall clock. */
  readonly zone: TimeZone;
  readonly ledger: Ref<LedgerMsg>;
  readonly live: Ref<LiveMsg>;
  /** Control state restored at boot or on a reload, applied before any actor acts. */
  readonly control?: ControlSnapshot;
  /** Its alarms active at spawn. */
  readonly activeAlarms?: number;
  /** Each purse's billing state (quota, tier position, carry) as last committed; null: never billed. */
  readonly billing?: { readonly electricity: BillingState | null; readonly water: BillingState | null };
}

/**
 * One purse's billing, owned by the dormitory (not by each meter): the free quota and tier
 * position are the room's, so two meters of one purse share one monthly grant. Charges wait
 * here per meter, with the meter's new position, until the purse is posted.
 */
interface PurseBilling {
  state: BillingState | null;
  pricing: MeterTariff | null;
  readonly meters: Map<string, { pending: PendingCharge | null; position: RegisterPosition }>;
  firstAt: number | null;
  /** The dormitory's posting phase in clock ms: its grid of posting slots (src/domain/posting-schedule.ts). */
  readonly phaseMs: number;
}

interface CircuitEntry extends CircuitLiveState {
  /** Updated in place by each reading (MeterReported). */
  powerW: number;
  pf: number;
  readonly meterId: string;
  readonly target: SupplyTarget;
  readonly cutReasons: readonly CutReason[];
}

interface DormitoryActorState {
  balance: { electricity: number; water: number };
  /** A credit announced with a ledger entry at or below these is already in `balance` (it was loaded with it). */
  readonly balanceThroughEntry: { readonly electricity: number; readonly water: number };
  policy: DormitoryPolicy;
  standing: { electricity: PurseStanding; water: PurseStanding };
  warning: { electricity: number; water: number };
  state: DormitoryState;
  readonly meters: Map<string, { ref: Ref<MeterMsg>; kind: 'electric' | 'water'; online: boolean }>;
  readonly circuits: Map<string, CircuitEntry>;
  powerW: number;
  lastReadingAt: number | null;
  activeAlarms: number;
  daysLeft: DormitoryLiveState['daysLeft'];
  /** What the live feed shows of this dormitory: one object for the actor's life, refreshed in place (see `publish`). */
  view: LiveView | undefined;
  rules: RuleBook;
  lighting: LightingScheduleState;
  lightsOn: boolean;
  scheduleGeneration: number;
  /** Flush requests waiting for their meters' BillingFlushed, by request id. */
  readonly flushes: Map<number, { readonly waiting: Set<string>; readonly replyTo: Ref<DormitoryFlushed> }>;
  flushSeq: number;
  readonly billing: Record<Purse, PurseBilling>;
  quotaGeneration: number;
  self: Ref<DormitoryMsg> | undefined;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type LiveCircuit = Mutable<CircuitLiveState>;
/** The dormitory's live state as it keeps it: written in place (the feed's readers see `DormitoryLiveState`). */
interface LiveView extends Omit<Mutable<DormitoryLiveState>, 'balance' | 'circuits'> {
  readonly balance: { electricity: number; water: number };
  readonly circuits: LiveCircuit[];
}
/** The outputs the live feed shows (a one-relay meter's 'main' as its lighting). */
const LIVE_TARGETS: ReadonlySet<SupplyTarget> = new Set<SupplyTarget>(['lighting', 'socket', 'ac', 'main']);

const SAFETY_REASONS: ReadonlySet<CutReason> = new Set<CutReason>(['malignant_load', 'overload', 'tamper', 'ac_standby', 'low_current']);

/** Display precedence of the dormitory state (docs/architecture.md). Allocates nothing: it runs on every reading. */
export function dormitoryStateOf(s: Pick<DormitoryActorState, 'standing' | 'circuits' | 'meters' | 'policy'>): DormitoryState {
  let manual = false;
  let safety = false;
  let holiday = false;
  for (const c of s.circuits.values()) {
    for (const r of c.cutReasons) {
      if (r === 'manual') manual = true;
      else if (r === 'holiday') holiday = true;
      else if (SAFETY_REASONS.has(r)) safety = true;
    }
  }
  if (manual) return 'cut_manual';
  if (s.standing.electricity === 'cut') return 'cut_arrears';
  if (s.standing.water === 'cut' && s.policy.waterArrearsCutsElectricity) return 'cut_water_arrears';
  if (safety) return 'cut_safety';
  if (holiday) return 'holiday_off';
  for (const m of s.meters.values()) if (!m.online) return 'offline';
  // The state names the purse it is about: a low water purse is not shown as low electricity.
  if (s.standing.electricity === 'overdraft') return 'overdraft';
  if (s.standing.water === 'overdraft') return 'overdraft_water';
  if (s.standing.electricity === 'low_balance') return 'low_balance';
  if (s.standing.water === 'low_balance') return 'low_balance_water';
  return 'normal';
}

const purseOf = (kind: 'electric' | 'water'): Purse => (kind === 'electric' ? 'electricity' : 'water');
/** The zone a purse is billed in (its tariff's campus zone). */
const zoneOf = (book: PurseBilling, campusZone: TimeZone): TimeZone => book.pricing?.zone ?? campusZone;

/**
 * `dormitory:<id>`: the account. Holds both purses' live balances (charges arrive from its
 * meters as readings are billed; credits after a recharge commits), decides arrears cut-off
 * and restore (including water-electricity linkage), and publishes its live state.
 */
export function spawnDormitory(parent: Ref<unknown>, props: DormitoryProps, deps: ActorDeps): Ref<DormitoryMsg> {
  const record = (kind: string, fromState: string | null, toState: string | null, details: Record<string, unknown>) =>
    dispatch(props.ledger, { type: 'EventOccurred', record: { dormitoryId: props.id, meterId: null, gatewayId: null, kind, fromState, toState, details, occurredAt: deps.clock.now() } });

  /** A copy of the live state, for an ask (the caller keeps it). */
  function live(state: DormitoryActorState): DormitoryLiveState {
    const view = refreshView(state);
    return { ...view, balance: { ...view.balance }, circuits: view.circuits.map((c) => ({ ...c })) };
  }

  /** The live view, brought up to date with the state: fields written in place, nothing allocated once the circuits are known. */
  function refreshView(state: DormitoryActorState): LiveView {
    let shown = 0;
    for (const c of state.circuits.values()) if (LIVE_TARGETS.has(c.target)) shown++;
    let view = state.view;
    if (!view || view.circuits.length !== shown) {
      const circuits: LiveCircuit[] = [];
      for (const c of state.circuits.values()) {
        if (LIVE_TARGETS.has(c.target)) circuits.push({ kind: c.kind, supply: c.supply, powerW: c.powerW, pf: c.pf, cutReason: c.cutReason });
      }
      view = { id: props.id, building: props.building, floor: props.floor, room: props.room, state: state.state, balance: { electricity: 0, water: 0 }, powerW: 0, online: true, circuits, activeAlarms: 0, lastReadingAt: null };
      state.view = view;
    }
    view.state = state.state;
    view.balance.electricity = state.balance.electricity;
    view.balance.water = state.balance.water;
    view.powerW = Math.round(state.powerW);
    let online = true;
    for (const m of state.meters.values()) if (!m.online) online = false;
    view.online = online;
    let i = 0;
    for (const c of state.circuits.values()) {
      if (!LIVE_TARGETS.has(c.target)) continue;
      const shownCircuit = view.circuits[i++]!;
      shownCircuit.kind = c.kind;
      shownCircuit.supply = c.supply;
      shownCircuit.powerW = c.powerW;
      shownCircuit.pf = c.pf;
      shownCircuit.cutReason = c.cutReason;
    }
    view.activeAlarms = state.activeAlarms;
    view.lastReadingAt = state.lastReadingAt;
    if (state.daysLeft) view.daysLeft = state.daysLeft;
    return view;
  }

  /**
   * Shows the dormitory's current state on the live feed. The view is one object for the
   * actor's life, refreshed in place and handed to the live actor, which coalesces: its hub
   * flushes the dormitories that changed every 250 ms, each once, at its latest state. A new
   * object per reading (20,000 a second at 20,000 rooms) lived until the next one a second later,
   * long enough to be promoted out of the young generation, and was a tenth of what the server
   * allocated.
   */
  function publish(state: DormitoryActorState): void {
    dispatch(props.live, { type: 'DormitoryUpdated', state: refreshView(state) });
  }

  function impose(state: DormitoryActorState, kind: 'electric' | 'water', reason: CutReason, active: boolean, causedAtNs: bigint | undefined): void {
    for (const meter of state.meters.values()) {
      if (meter.kind !== kind) continue;
      dispatch(meter.ref, { type: 'ImposeCut', target: 'all', reason, active, requestedBy: 'system', causedAtNs });
    }
  }

  /** The persisted part (purse standings, warning levels) goes to the ledger when it changes. */
  let savedControl = JSON.stringify(props.control?.dormitory ?? null);
  function saveControl(state: DormitoryActorState): void {
    const control: DormitoryControlState = { standing: { ...state.standing }, warning: { ...state.warning } };
    const json = JSON.stringify(control);
    if (json === savedControl) return;
    savedControl = json;
    dispatch(props.ledger, { type: 'ControlChanged', record: { dormitoryId: props.id, actorKey: DORMITORY_CONTROL_KEY, state: control } });
  }

  /** Re-assesses both purses; cuts or restores; records transitions. */
  function assess(state: DormitoryActorState, causedAtNs: bigint | undefined): void {
    assessPurses(state, causedAtNs);
    saveControl(state);
  }

  function assessPurses(state: DormitoryActorState, causedAtNs: bigint | undefined): void {
    for (const purse of ['electricity', 'water'] as const) {
      const before = state.standing[purse];
      const assessed = assessPurse(state.policy.arrears, state.balance[purse], before === 'cut');
      if (assessed.warningLevel > state.warning[purse]) {
        record('balance_warning', null, null, { purse, level: assessed.warningLevel, balance: state.balance[purse] });
      }
      state.warning[purse] = assessed.warningLevel;
      if (assessed.standing === before) continue;
      state.standing[purse] = assessed.standing;
      record('purse_standing', before, assessed.standing, { purse, balance: state.balance[purse] });
      const wasCut = before === 'cut';
      const isCut = assessed.standing === 'cut';
      if (wasCut === isCut) continue;
      dispatch(props.ledger, {
        type: 'Audited',
        record: { operator: 'system', action: isCut ? 'arrears.cut' : 'arrears.restore', targetType: 'dormitory', targetId: props.id, details: { purse, balance: state.balance[purse] } },
      });
      if (purse === 'electricity') impose(state, 'electric', 'arrears', isCut, causedAtNs);
      else {
        impose(state, 'water', 'arrears', isCut, causedAtNs);
        if (state.policy.waterArrearsCutsElectricity) impose(state, 'electric', 'water_arrears', isCut, causedAtNs);
      }
    }
  }

  /**
   * The lighting schedule and holiday calendar: lights-off cuts the lighting circuits, a
   * holiday cuts every circuit of a `holidayOff` dormitory, and socket circuits learn when
   * lights-off (their low-current mode) begins and ends. Re-armed at the phase's next change
   * on the injected clock.
   */
  function runSchedule(state: DormitoryActorState): void {
    const now = deps.clock.now();
    const result = evaluateLightingSchedule(state.rules.lightingSchedule, state.lighting, {
      at: now,
      zone: props.zone,
      calendar: state.rules.calendar,
      override: state.rules.lightingOverride,
      holidayOff: props.holidayOff,
    });
    state.lighting = result.state;
    state.lightsOn = result.phase.lightsOn;
    const verdict = result.verdict;
    if (verdict.action !== 'none') {
      const holiday = result.state.supply === 'holiday';
      const lightsOff = result.state.supply === 'lights_off';
      for (const meter of state.meters.values()) {
        if (meter.kind !== 'electric') continue;
        dispatch(meter.ref, { type: 'ImposeCut', target: 'lighting', reason: 'lights_off', active: lightsOff, requestedBy: 'schedule' });
        dispatch(meter.ref, { type: 'ImposeCut', target: 'all', reason: 'holiday', active: holiday, requestedBy: 'schedule' });
        dispatch(meter.ref, { type: 'LightsChanged', lightsOn: result.phase.lightsOn, at: now });
      }
      record('lighting_schedule', null, result.state.supply, { detail: verdict.detail });
    }
    const generation = ++state.scheduleGeneration;
    const self = state.self;
    if (self) deps.clock.schedule(Math.max(1, result.phase.nextChangeAt - now), () => dispatch(self, { type: 'ScheduleDue', generation }));
  }

  function settle(state: DormitoryActorState): DormitoryActorState {
    const next = dormitoryStateOf(state);
    if (next !== state.state) {
      record('dormitory_state', state.state, next, { balance: { ...state.balance } });
      dispatch(props.ledger, { type: 'Audited', record: { operator: 'system', action: 'dormitory.state', targetType: 'dormitory', targetId: props.id, details: { from: state.state, to: next } } });
      state.state = next;
      dispatch(props.ledger, { type: 'DormitoryStateChanged', dormitoryId: props.id, state: next });
    }
    publish(state);
    return state;
  }

  /** Prices what a meter measured against its purse's quota and tier position; returns the amount. */
  function price(state: DormitoryActorState, purse: Purse, meterId: string, measured: Measured): number {
    const book = state.billing[purse];
    if (!book.pricing) throw new Error(`no ${purse} pricing in dormitory ${props.id} for meter ${meterId}`);
    const periodEnd = book.state?.quotaUntil;
    const charge = chargeMeasured(book.state, measured, book.pricing);
    book.state = charge.state;
    // A per-occupant grant records the stays it counted: one that commits meanwhile, not listed,
    // is granted its late share after its check-in (late-quota.service.ts, grantOccupantsMissedByGrant).
    const quota = book.pricing.quota;
    if (charge.quotaGranted > 0 && quota?.basis === 'per-occupant' && quota.stays && quota.stays.length === quota.occupants && charge.state.quotaFrom !== undefined) {
      book.state = { ...charge.state, quotaCounted: { from: charge.state.quotaFrom, occupancies: [...quota.stays] } };
    }
    // A new quota period (granted by this usage) ends elsewhere: its lapse is timed anew.
    if (charge.state.quotaUntil !== periodEnd) armQuotaExpiry(state);
    const entry = book.meters.get(meterId) ?? { pending: null, position: measured.position };
    if (measured.usage > 0 || charge.quotaGranted > 0 || charge.quotaLapsed.length > 0) entry.pending = accumulateCharge(entry.pending, measured.fromRegister, measured.toRegister, measured.usage, charge, measured.toMs);
    entry.position = measured.position;
    book.meters.set(meterId, entry);
    book.firstAt ??= measured.toMs;
    return charge.amount;
  }

  /**
   * Hands a purse's pending charges to the ledger: one record per meter, each with the meter's
   * new position and the purse's state, committed with the charges (exactly once).
   */
  function post(state: DormitoryActorState, purse: Purse): void {
    const book = state.billing[purse];
    if (book.state === null) return;
    for (const [meterId, entry] of book.meters) {
      dispatch(props.ledger, {
        type: 'Billed',
        record: { meterId, dormitoryId: props.id, purse, pending: entry.pending, cursor: { ...entry.position, billing: book.state }, tariffId: book.pricing?.schedule.tariffId ?? null },
      });
    }
    book.meters.clear();
    book.firstAt = null;
  }

  /**
   * Hands the ledger a quota move of the purse (a grant the office issued, a lapse at a period's
   * end) after the purse's pending charges, so the state committed with it covers them.
   */
  function postQuota(state: DormitoryActorState, purse: Purse, move: QuotaMove, at: number, issuedBy?: string, audit?: QuotaIssueAudit): void {
    const book = state.billing[purse];
    post(state, purse);
    book.state = move.state;
    const pending = { amount: 0, usage: 0, freeUsed: 0, fromRegister: 0, toRegister: 0, firstAt: at, lastAt: at, quotaGranted: move.granted, quotaLapsed: move.lapsed, parts: {} };
    dispatch(props.ledger, {
      type: 'Billed',
      record: {
        meterId: null,
        dormitoryId: props.id,
        purse,
        pending,
        cursor: { register: 0, readAt: at, billing: move.state },
        ...(issuedBy ? { issuedBy } : {}),
        ...(audit && issuedBy ? { audit: { operator: issuedBy, action: audit.action, targetType: audit.targetType, targetId: audit.targetId, details: { ...audit.details, dormitoryId: props.id, purse, granted: move.granted, lapsed: move.lapsed.reduce((sum, l) => sum + l.units, 0), period: { from: move.state.quotaFrom ?? null, until: move.state.quotaUntil ?? null } } } } : {}),
      },
    });
  }

  /** Arms the timer for the earliest end of a quota period either purse holds (checked again at most daily). */
  function armQuotaExpiry(state: DormitoryActorState): void {
    const generation = ++state.quotaGeneration;
    const self = state.self;
    if (!self) return;
    const now = deps.clock.now();
    const dues = (['electricity', 'water'] as const).flatMap((p) => {
      const billing = state.billing[p].state;
      const end = billing?.quotaUntil;
      if (!billing || !end) return [];
      return [quotaLapseDueAt(startOfLocalDay(end, zoneOf(state.billing[p], props.zone)), billing.freeRemaining, now)].filter((at): at is number => at !== null);
    });
    if (dues.length === 0) return;
    const delay = Math.min(Math.max(1, Math.min(...dues) - now), 86_400_000);
    deps.clock.schedule(delay, () => dispatch(self, { type: 'QuotaExpiryDue', generation }));
  }

  /** Unused quota of a period that is over lapses (recorded in the ledger). */
  function expireQuota(state: DormitoryActorState): void {
    const now = deps.clock.now();
    for (const purse of ['electricity', 'water'] as const) {
      const book = state.billing[purse];
      if (!book.state) continue;
      const move = moveQuota(book.state, book.pricing?.quota ?? null, now, zoneOf(book, props.zone), false);
      if (move.lapsed.length > 0) postQuota(state, purse, move, now);
      else book.state = move.state;
    }
  }

  function charged(state: DormitoryActorState, purse: Purse, amount: number, causedAtNs: bigint | undefined): void {
    if (amount === 0) return;
    state.balance[purse] -= amount;
    assess(state, causedAtNs);
  }

  return spawnActor<DormitoryActorState, DormitoryMsg>(
    parent,
    (state, msg) => {
      switch (msg.type) {
        case 'MeterReported': {
          // The live view's "last reading" is the electricity meter's (power and circuits come from it).
          if (msg.purse === 'electricity') {
            state.lastReadingAt = msg.at;
            state.powerW = msg.powerW;
          }
          // In place: an entry lives as long as the dormitory, and a copy per reading only fed the garbage collector.
          for (const c of msg.circuits) {
            const entry = state.circuits.get(circuitKey(msg.meterId, c.kind));
            if (entry) {
              entry.powerW = Math.round(c.powerW);
              entry.pf = Math.round(c.powerFactor * 1000) / 1000;
            }
          }
          if (msg.measured) {
            charged(state, msg.purse, price(state, msg.purse, msg.meterId, msg.measured), msg.decodedAtNs);
            const book = state.billing[msg.purse];
            // An opening is posted at once (its cursor, and a quota grant); charges once a slot of the dormitory's own posting grid.
            if (msg.measured.usage === 0 || postingDue(book.firstAt, msg.measured.toMs, book.phaseMs, deps.postingIntervalMs)) {
              // Under ledger backpressure (database away) the charge stays pending here, one per
              // meter, growing in place; the first reading after the release posts it whole.
              if (deps.ledgerPressure?.backpressure) deps.metrics.ledgerPostingsDeferred.inc();
              else post(state, msg.purse);
            }
          }
          return settle(state);
        }
        case 'MeterResolved': {
          const amount = price(state, msg.purse, msg.meterId, msg.measured);
          dispatch(props.ledger, { type: 'Audited', record: { operator: msg.operator, action: msg.action, targetType: 'meter', targetId: msg.meterId, details: { ...msg.details, amount } } });
          post(state, msg.purse);
          if (msg.held) dispatch(props.ledger, { type: 'AlarmCleared', clearance: { dormitoryId: props.id, meterId: msg.meterId, circuit: null, kind: msg.held, releasedBy: msg.operator } });
          charged(state, msg.purse, amount, undefined);
          dispatch(msg.replyTo, { ok: true, meterId: msg.meterId, billedUsage: msg.measured.usage, amount, cursorRegister: msg.measured.position.register });
          return settle(state);
        }
        case 'MeterOnlineChanged': {
          const meter = state.meters.get(msg.meterId);
          if (!meter || meter.online === msg.online) return state;
          meter.online = msg.online;
          record(msg.online ? 'meter_online' : 'meter_offline', null, null, { meterId: msg.meterId });
          return settle(state);
        }
        case 'CircuitReported': {
          const key = `${msg.meterId}:${msg.target}`;
          const previous = state.circuits.get(key);
          const reasons = new Set(msg.cutReasons);
          state.circuits.set(key, {
            meterId: msg.meterId,
            target: msg.target,
            kind: msg.target === 'main' || msg.target === 'valve' ? 'lighting' : msg.target,
            supply: msg.supply === 'unknown' ? 'off' : msg.supply,
            powerW: previous?.powerW ?? 0,
            pf: previous?.pf ?? 0,
            cutReason: primaryCutReason(reasons),
            cutReasons: msg.cutReasons,
          });
          return settle(state);
        }
        case 'CreditApplied':
          // A reload reads the balance while credits commit around it (docs/architecture.md,
          // "Money invariants"): one committed before the read is in the loaded balance already.
          if (msg.ledgerEntryId <= state.balanceThroughEntry[msg.purse]) return state;
          state.balance[msg.purse] += msg.amount;
          assess(state, undefined);
          return settle(state);
        case 'ManualCommand': {
          const accepted: { meterId: string; target: SupplyTarget; stillCutBy: CutReason[] }[] = [];
          for (const [meterId, meter] of state.meters) {
            if (meter.kind !== 'electric') continue;
            dispatch(meter.ref, { type: 'ImposeCut', target: msg.circuit, reason: 'manual', active: msg.action === 'cut', requestedBy: msg.operator });
            for (const entry of state.circuits.values()) {
              if (entry.meterId !== meterId || (msg.circuit !== 'all' && entry.target !== msg.circuit)) continue;
              accepted.push({ meterId, target: entry.target, stillCutBy: msg.action === 'restore' ? entry.cutReasons.filter((r) => r !== 'manual') : [] });
            }
          }
          // The operator's command is audited (and its cut made durable) by the service that sent it.
          dispatch(msg.replyTo, { circuits: accepted });
          return state;
        }
        case 'PricingChanged':
          for (const [meterId, pricing] of msg.pricing) {
            const meter = state.meters.get(meterId);
            if (meter) state.billing[purseOf(meter.kind)].pricing = pricing;
          }
          return state;
        case 'PolicyChanged':
          state.policy = msg.policy;
          assess(state, undefined);
          return settle(state);
        case 'AlarmsCounted':
          if (state.activeAlarms === msg.activeAlarms) return state;
          state.activeAlarms = msg.activeAlarms;
          publish(state);
          return state;
        case 'DaysLeftEstimated':
          state.daysLeft = msg.daysLeft;
          publish(state);
          return state;
        case 'GetDormitory':
          dispatch(msg.replyTo, live(state));
          return state;
        case 'RulesChanged':
          state.rules = msg.rules;
          for (const meter of state.meters.values()) dispatch(meter.ref, { type: 'RulesChanged', rules: msg.rules });
          runSchedule(state);
          return state;
        case 'ScheduleDue':
          if (msg.generation === state.scheduleGeneration) runSchedule(state);
          return state;
        case 'OperatorRelease':
          for (const [meterId, meter] of state.meters) {
            if (msg.meterId !== null && msg.meterId !== meterId) continue;
            dispatch(meter.ref, { type: 'OperatorRelease', circuit: msg.circuit, operator: msg.operator });
          }
          return state;
        case 'FlushBilling': {
          if (state.meters.size === 0 || !state.self) {
            dispatch(msg.replyTo, { type: 'DormitoryFlushed', meters: 0 });
            return state;
          }
          const requestId = ++state.flushSeq;
          state.flushes.set(requestId, { waiting: new Set(state.meters.keys()), replyTo: msg.replyTo });
          for (const meter of state.meters.values()) dispatch(meter.ref, { type: 'FlushBilling', requestId, retire: msg.retire === true, replyTo: state.self });
          return state;
        }
        case 'ResolveRegister':
          // An unknown meter gets no answer: the caller checked the topology and times out.
          if (state.meters.has(msg.meterId)) dispatch(state.meters.get(msg.meterId)!.ref, { type: 'ResolveRegister', resolution: msg.resolution, operator: msg.operator, replyTo: msg.replyTo });
          return state;
        case 'GetMeter':
          if (state.meters.has(msg.meterId)) {
            const meter = state.meters.get(msg.meterId)!;
            const pendingAmount = state.billing[purseOf(meter.kind)].meters.get(msg.meterId)?.pending?.amount ?? 0;
            dispatch(meter.ref, { type: 'GetMeter', pendingAmount, replyTo: msg.replyTo });
          }
          return state;
        case 'OccupantsChanged':
          for (const purse of ['electricity', 'water'] as const) {
            const book = state.billing[purse];
            if (book.pricing?.quota) book.pricing = { ...book.pricing, quota: { ...book.pricing.quota, occupants: msg.occupants, ...(msg.stays ? { stays: msg.stays } : {}) } };
          }
          return state;
        case 'IssueQuota': {
          const book = state.billing[msg.purse];
          const quota = book.pricing?.quota ?? null;
          if (!book.pricing || !quota) {
            dispatch(msg.replyTo, { type: 'QuotaIssued', granted: 0, hasPolicy: false, state: book.state });
            return state;
          }
          book.pricing = { ...book.pricing, quota: { ...quota, occupants: msg.occupants } };
          const now = deps.clock.now();
          const move = moveQuota(book.state ?? initialBillingState(now, null, zoneOf(book, props.zone)), book.pricing.quota, now, zoneOf(book, props.zone), true);
          if (move.granted > 0 || move.lapsed.length > 0) {
            postQuota(state, msg.purse, move, now, msg.operator, msg.audit);
            armQuotaExpiry(state);
          }
          dispatch(msg.replyTo, { type: 'QuotaIssued', granted: move.granted, hasPolicy: true, state: book.state });
          return state;
        }
        case 'QuotaToppedUp': {
          const book = state.billing[msg.purse];
          const next = book.state ? applyQuotaTopUp(book.state, msg.topUp) : null;
          if (next) {
            book.state = next;
            // The state is committed again (what the transaction wrote, plus the charges priced since).
            const now = deps.clock.now();
            dispatch(props.ledger, { type: 'Billed', record: { meterId: null, dormitoryId: props.id, purse: msg.purse, pending: null, cursor: { register: 0, readAt: now, billing: next } } });
          }
          return state;
        }
        case 'QuotaExpiryDue':
          if (msg.generation !== state.quotaGeneration) return state;
          expireQuota(state);
          armQuotaExpiry(state);
          return state;
        case 'GetPurseStates':
          dispatch(msg.replyTo, { type: 'PurseStates', electricity: state.billing.electricity.state, water: state.billing.water.state });
          return state;
        case 'BillingFlushed': {
          const request = msg.requestId === undefined ? undefined : state.flushes.get(msg.requestId);
          if (!request) return state;
          request.waiting.delete(msg.meterId);
          if (request.waiting.size === 0) {
            // Every meter has reported what it measured: post both purses, then answer.
            post(state, 'electricity');
            post(state, 'water');
            state.flushes.delete(msg.requestId!);
            dispatch(request.replyTo, { type: 'DormitoryFlushed', meters: state.meters.size });
          }
          return state;
        }
      }
    },
    actorName('dormitory', props.id),
    {
      initialStateFunc: (ctx) => {
        const self = ctx.self as Ref<DormitoryMsg>;
        const control = props.control ?? EMPTY_CONTROL_SNAPSHOT;
        const phaseMs = postingPhaseMs(props.id, deps.postingIntervalMs);
        const state: DormitoryActorState = {
          balance: { ...props.balance },
          balanceThroughEntry: props.balanceThroughEntry ?? { electricity: 0, water: 0 },
          policy: props.policy,
          standing: { ...(control.dormitory?.standing ?? { electricity: 'normal', water: 'normal' }) },
          warning: { ...(control.dormitory?.warning ?? { electricity: 0, water: 0 }) },
          state: 'offline',
          meters: new Map(),
          circuits: new Map(),
          powerW: 0,
          lastReadingAt: null,
          activeAlarms: props.activeAlarms ?? 0,
          daysLeft: undefined,
          view: undefined,
          rules: props.rules,
          lighting: initialLightingScheduleState(),
          lightsOn: true,
          scheduleGeneration: 0,
          flushes: new Map(),
          flushSeq: 0,
          billing: {
            electricity: { state: props.billing?.electricity ?? null, pricing: props.meters.find((m) => m.kind === 'electric')?.pricing ?? null, meters: new Map(), firstAt: null, phaseMs },
            water: { state: props.billing?.water ?? null, pricing: props.meters.find((m) => m.kind === 'water')?.pricing ?? null, meters: new Map(), firstAt: null, phaseMs },
          },
          quotaGeneration: 0,
          self,
        };
        // Boot order (docs/architecture.md): the purses' standing (restored, then re-assessed
        // against the balance: a cut purse stays cut below the restore threshold) and the
        // schedule's phase are settled first, with no meter spawned yet; then every circuit is
        // spawned holding the reasons that apply, so none of them acts without them.
        assess(state, undefined);
        runSchedule(state);
        for (const meter of props.meters) {
          const circuits = new Map<SupplyTarget, { reasons: CutReason[]; saved: CircuitControlState | undefined }>();
          for (const target of meter.targets) {
            const key = circuitKey(meter.meterId, target);
            const saved = control.circuits.get(key);
            const reasons = bootCutReasons({
              meterKind: meter.kind,
              target,
              standing: state.standing,
              waterArrearsCutsElectricity: state.policy.waterArrearsCutsElectricity,
              schedule: state.lighting.supply,
              manual: control.manualCuts.has(key),
              persisted: saved?.reasons ?? [],
            });
            circuits.set(target, { reasons, saved });
          }
          const boot = { control: control.meters.get(meter.meterId) ?? null, circuits, lightsOn: state.lightsOn };
          const ref = spawnMeter(ctx.self as Ref<unknown>, { ...meter, dormitory: self, ledger: props.ledger, rules: props.rules, boot }, deps);
          state.meters.set(meter.meterId, { ref, kind: meter.kind, online: false });
          for (const target of meter.targets) {
            if (target === 'valve') continue;
            const reasons = new Set(circuits.get(target)!.reasons);
            state.circuits.set(circuitKey(meter.meterId, target), {
              meterId: meter.meterId,
              target,
              kind: target === 'main' ? 'lighting' : target,
              supply: 'off',
              powerW: 0,
              pf: 0,
              cutReason: primaryCutReason(reasons),
              cutReasons: [...reasons],
            });
          }
        }
        // A quota period that ended while the server was down lapses at once (the timer is due).
        armQuotaExpiry(state);
        state.state = dormitoryStateOf(state);
        dispatch(props.ledger, { type: 'DormitoryStateChanged', dormitoryId: props.id, state: state.state });
        publish(state);
        return state;
      },
      onCrash: resumeOnCrash(deps, 'dormitory'),
    },
  );
}
