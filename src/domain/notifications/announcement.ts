import type { Purse } from '../../db/database.ts';

/** Who hears of an event: the students living in the dormitory, and for serious ones staff too. */
export type Audience = 'students' | 'students_and_staff';

export type NotificationKind = 'low_balance' | 'arrears_cut' | 'restored' | 'recharge_arrived' | 'safety_trip' | 'settlement' | 'days_left';

/** An event worth telling people about, before its recipients are known. */
export interface Announcement {
  readonly dormitoryId: string;
  readonly kind: NotificationKind;
  readonly audience: Audience;
  readonly message: string;
  readonly details: Record<string, unknown>;
  readonly at: Date;
  /** Same key, same recipient: written once (a replayed settlement or crossing says nothing twice). */
  readonly dedupeKey?: string;
}

/** Alarm kinds that are a safety trip of a circuit (src/domain/rules). */
export const SAFETY_TRIP_KINDS: ReadonlySet<string> = new Set(['overload', 'malignant_load', 'tamper', 'lockout']);

const yuan = (fen: number): string => `${fen < 0 ? '-' : ''}¥${(Math.abs(fen) / 100).toFixed(2)}`;

/** The minimal shape of an event and an alarm as the ledger writer persists them. */
export interface AnnouncedEvent {
  readonly dormitoryId: string | null;
  readonly kind: string;
  readonly fromState: string | null;
  readonly toState: string | null;
  readonly details: Record<string, unknown>;
  readonly occurredAt: number;
}
export interface AnnouncedAlarm {
  readonly dormitoryId: string | null;
  readonly circuit: string | null;
  readonly kind: string;
  readonly message: string;
  readonly evidence: readonly unknown[];
  readonly raisedAt: number;
}

const purseOf = (details: Record<string, unknown>): Purse => (details.purse === 'water' ? 'water' : 'electricity');

/** What a dormitory event announces: a warning level crossed, a cut-off for arrears, a restore. */
export function announceEvent(e: AnnouncedEvent): Announcement | undefined {
  if (e.dormitoryId === null) return undefined;
  const purse = purseOf(e.details);
  const balance = typeof e.details.balance === 'number' ? e.details.balance : 0;
  const base = { dormitoryId: e.dormitoryId, at: new Date(e.occurredAt) };
  if (e.kind === 'balance_warning') {
    const level = typeof e.details.level === 'number' ? e.details.level : 0;
    return { ...base, kind: 'low_balance', audience: 'students', message: `${purse} balance is low (${yuan(balance)}, warning level ${level})`, details: { purse, level, balance } };
  }
  if (e.kind === 'purse_standing' && e.toState === 'cut' && e.fromState !== 'cut') {
    return { ...base, kind: 'arrears_cut', audience: 'students_and_staff', message: `${purse} supply cut for arrears (balance ${yuan(balance)})`, details: { purse, balance } };
  }
  if (e.kind === 'purse_standing' && e.fromState === 'cut' && e.toState !== 'cut') {
    return { ...base, kind: 'restored', audience: 'students', message: `${purse} supply restored (balance ${yuan(balance)})`, details: { purse, balance } };
  }
  return undefined;
}

/** An appliance signature named in a trip's evidence, if the rule recognised one. */
function signatureOf(evidence: readonly unknown[]): string | null {
  for (const item of evidence) {
    if (typeof item !== 'object' || item === null) continue;
    const v = item as Record<string, unknown>;
    for (const key of ['signature', 'appliance', 'signatureName']) if (typeof v[key] === 'string') return v[key] as string;
  }
  return null;
}

/** A safety trip (overload, malignant load, tamper, reclose lock-out) announces itself to the room and staff. */
export function announceAlarm(a: AnnouncedAlarm): Announcement | undefined {
  if (a.dormitoryId === null || !SAFETY_TRIP_KINDS.has(a.kind)) return undefined;
  const signature = signatureOf(a.evidence);
  return {
    dormitoryId: a.dormitoryId,
    kind: 'safety_trip',
    audience: 'students_and_staff',
    message: `safety trip on ${a.circuit ?? 'the supply'}: ${a.kind}${signature ? ` (${signature})` : ''}: ${a.message}`,
    details: { rule: a.kind, circuit: a.circuit, signature },
    at: new Date(a.raisedAt),
  };
}

export function announceRecharge(r: { dormitoryId: string; purse: Purse; amount: number; balance: number; reference: string; at: Date }): Announcement {
  return {
    dormitoryId: r.dormitoryId,
    kind: 'recharge_arrived',
    audience: 'students',
    message: `recharge of ${yuan(r.amount)} arrived on ${r.purse}; balance ${yuan(r.balance)}`,
    details: { purse: r.purse, amount: r.amount, balance: r.balance, reference: r.reference },
    at: r.at,
    dedupeKey: `recharge:${r.reference}`,
  };
}

export function settlementMessage(purse: Purse, direction: string, amountFen: number): string {
  if (direction === 'refund') return `check-out settlement: ${yuan(amountFen)} refunded on ${purse}`;
  if (direction === 'charge') return `check-out settlement: ${yuan(amountFen)} owed on ${purse}`;
  return `check-out settlement: nothing owed on ${purse}`;
}
