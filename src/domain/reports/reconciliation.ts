import type { LedgerEntryKindName, PurseName } from './ledger-kinds.ts';

/**
 * The day's reconciliation of one account group (a building's purse): every ledger movement of
 * the day falls in exactly one column, so opening + recharges - charges - refunds + adjustments
 * + settlements = closing holds to the fen, and `closing` is also read from the ledger on its
 * own (the sum of every entry before the day's end) to prove it.
 */
export interface ReconciliationLine extends MoneyColumns {
  readonly campus: string;
  readonly building: string;
  readonly purse: PurseName;
  /** The closing balance read from the ledger itself; equal to `closing` when the day ties out. */
  readonly ledgerClosing: number;
  readonly tiesOut: boolean;
}

/** A purse's money over a period (a day, a month): every ledger movement falls in exactly one column. */
export interface MoneyColumns {
  readonly opening: number;
  readonly recharges: number;
  /** Consumption charges (and free-quota grants, which carry no money), as a positive debit. */
  readonly charges: number;
  /** Refunds out of the purse (office refunds and check-out settlement refunds), as a positive debit. */
  readonly refunds: number;
  /** Signed: positive credits the purse. */
  readonly adjustments: number;
  /** Check-out settlements a leaving student owed, signed as posted. */
  readonly settlements: number;
  /** opening + recharges - charges - refunds + adjustments + settlements. */
  readonly closing: number;
}

/** The day's sums of one (campus, building, purse, kind) group, as the ledger holds them (signed). */
export interface MovementSum {
  readonly campus: string;
  readonly building: string;
  readonly purse: PurseName;
  readonly kind: LedgerEntryKindName;
  readonly amount: number;
}

export interface BalanceSum {
  readonly campus: string;
  readonly building: string;
  readonly purse: PurseName;
  readonly amount: number;
}

export type Column = 'recharges' | 'charges' | 'refunds' | 'adjustments' | 'settlements';

/** Which column a ledger kind falls in, and the sign that turns its signed amount into the column's. */
export function columnOf(kind: LedgerEntryKindName): { column: Column; sign: 1 | -1 } {
  switch (kind) {
    case 'recharge':
      return { column: 'recharges', sign: 1 };
    case 'consumption_charge':
    case 'quota_grant':
    case 'quota_expiry':
      return { column: 'charges', sign: -1 };
    case 'refund':
      return { column: 'refunds', sign: -1 };
    case 'adjustment':
      return { column: 'adjustments', sign: 1 };
    case 'settlement':
      return { column: 'settlements', sign: 1 };
  }
}

const keyOf = (g: { campus: string; building: string; purse: string }) => `${g.campus}\u0000${g.building}\u0000${g.purse}`;

/**
 * Builds the day's lines from three independent reads of the ledger: the balance before the
 * day (opening), the day's movements by kind, and the balance before the day's end (closing).
 * Lines are ordered by campus, building, purse.
 */
export function reconcileDay(opening: readonly BalanceSum[], movements: readonly MovementSum[], closing: readonly BalanceSum[]): ReconciliationLine[] {
  type Mutable = { -readonly [K in keyof ReconciliationLine]: ReconciliationLine[K] };
  const lines = new Map<string, Mutable>();
  const line = (g: { campus: string; building: string; purse: PurseName }): Mutable => {
    const key = keyOf(g);
    let found = lines.get(key);
    if (!found) {
      found = { campus: g.campus, building: g.building, purse: g.purse, opening: 0, recharges: 0, charges: 0, refunds: 0, adjustments: 0, settlements: 0, closing: 0, ledgerClosing: 0, tiesOut: true };
      lines.set(key, found);
    }
    return found;
  };
  for (const o of opening) line(o).opening += o.amount;
  for (const m of movements) {
    const { column, sign } = columnOf(m.kind);
    line(m)[column] += sign * m.amount;
  }
  for (const c of closing) line(c).ledgerClosing += c.amount;
  for (const l of lines.values()) {
    l.closing = l.opening + l.recharges - l.charges - l.refunds + l.adjustments + l.settlements;
    l.tiesOut = l.closing === l.ledgerClosing;
  }
  return [...lines.values()].sort((a, b) => (a.campus < b.campus ? -1 : a.campus > b.campus ? 1 : a.building < b.building ? -1 : a.building > b.building ? 1 : a.purse < b.purse ? -1 : a.purse > b.purse ? 1 : 0));
}

/** A purse's totals over many lines (a campus, or the whole report). */
export function totalOf(lines: readonly ReconciliationLine[]): Omit<ReconciliationLine, 'campus' | 'building' | 'purse'> {
  const sum = (f: (l: ReconciliationLine) => number) => lines.reduce((s, l) => s + f(l), 0);
  const closing = sum((l) => l.closing);
  const ledgerClosing = sum((l) => l.ledgerClosing);
  return {
    opening: sum((l) => l.opening),
    recharges: sum((l) => l.recharges),
    charges: sum((l) => l.charges),
    refunds: sum((l) => l.refunds),
    adjustments: sum((l) => l.adjustments),
    settlements: sum((l) => l.settlements),
    closing,
    ledgerClosing,
    tiesOut: closing === ledgerClosing,
  };
}
