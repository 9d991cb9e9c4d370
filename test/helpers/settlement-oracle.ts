/** A ledger entry as `GET /api/dormitories/:id/ledger` shows it. */
export interface LedgerEntryView {
  id: number;
  purse: 'electricity' | 'water';
  kind: string;
  amount: number;
  occurredAt: string;
  details: Record<string, unknown>;
}

/** A settlement as the check-out and exchange answers show it. */
export interface SettlementView {
  studentId: string;
  purse: string;
  direction: string;
  amountFen: number;
  equityFen: number;
  contributionsFen: number;
  days: number;
  ledgerEntryId: number | null;
}

/**
 * The leaver's expected equity, computed from the ledger as the REST API shows it, without
 * src/domain: entries that name a payer belong to the payer, settlement entries to the settled
 * stay, everything else is split per local day (`dayOf`, the test's own calendar) among the
 * stays present (occupancy-id order), the odd fen going to positions (dayNumber + k) mod n
 * (docs/settlement.md).
 */
export function expectedEquity(
  entries: readonly LedgerEntryView[],
  purse: string,
  stays: readonly { student: string; from: string; to: string | null }[],
  student: string,
  contributions: number,
  dayOf: (iso: string) => string,
): number {
  const byDay = new Map<string, { consumption: number; shared: number }>();
  for (const e of entries) {
    if (e.purse !== purse || e.details.payerStudentId !== undefined || e.details.settlementId !== undefined) continue;
    const day = dayOf(e.occurredAt);
    const totals = byDay.get(day) ?? { consumption: 0, shared: 0 };
    if (e.kind === 'consumption_charge') totals.consumption += e.amount;
    else totals.shared += e.amount;
    byDay.set(day, totals);
  }
  const own = stays.find((s) => s.student === student)!;
  let equity = contributions;
  for (const [day, totals] of byDay) {
    if (day < own.from || (own.to !== null && day >= own.to)) continue;
    const here = stays.filter((s) => s.from <= day && (s.to === null || day < s.to));
    const position = here.indexOf(own);
    const dayNumber = Date.parse(`${day}T00:00:00Z`) / 86_400_000;
    for (const total of [totals.consumption, totals.shared]) {
      const magnitude = Math.abs(total);
      const base = Math.floor(magnitude / here.length);
      const extra: number[] = [];
      for (let k = 0; k < magnitude - base * here.length; k++) extra.push((dayNumber + k) % here.length);
      const share = base + (extra.includes(position) ? 1 : 0);
      equity += total < 0 ? -share : share;
    }
  }
  return equity;
}
