import { dayFromNumber, dayNumber } from './local-day.ts';
import { shareAt } from './split.ts';

/**
 * Money in shared rooms (docs/settlement.md). A dormitory's purse is shared, but what each
 * occupant put in and took out is tracked, and a leaving student is settled on their own
 * share. Pure: the caller reads the ledger and the occupancy history, this decides.
 *
 * - A stay is [fromDay, toDay) in local calendar days: the check-in day counts, the check-out
 *   day does not (it belongs to whoever stays). A stay still open has toDay null.
 * - Contributions: recharges paid by the student (a recharge names its payer) during the stay.
 * - Every other entry of the purse on a day (consumption charges, anonymous recharges,
 *   adjustments) is the room's: it is split evenly among the stays present that day, in
 *   occupancy-id order, the odd fen rotating with the day (split.ts). Entries on a day with
 *   nobody present stay with the room (no one's share).
 * - Equity = contributions + consumption share (negative) + shared-credit share. Under
 *   'per-share' a positive equity is refunded to the student, a negative one charged to them;
 *   under 'none' the money stays in the room.
 */
export type SettlementPolicy = 'per-share' | 'none';

export interface Stay {
  readonly occupancyId: number;
  readonly fromDay: string;
  readonly toDay: string | null;
}

/** One local day of the room's shared ledger entries (signed fen as in the ledger). */
export interface RoomDay {
  readonly day: string;
  /** Sum of consumption charges that day (negative or zero). */
  readonly consumptionFen: number;
  /** Sum of every other shared entry that day (anonymous recharges, adjustments, ...). */
  readonly sharedCreditFen: number;
}

export interface SettlementInput {
  readonly policy: SettlementPolicy;
  /** The leaving stay, closed: toDay is the check-out (or exchange) day. */
  readonly leaver: Stay & { readonly toDay: string };
  /** Every stay in the room that overlaps the leaver's (the leaver's included). */
  readonly stays: readonly Stay[];
  /** The room's shared days within the leaver's stay (other days are ignored). */
  readonly days: readonly RoomDay[];
  /** Sum of the leaver's own recharges into this purse during the stay. */
  readonly contributionsFen: number;
}

export interface SettlementVerdict {
  readonly days: number;
  readonly contributionsFen: number;
  readonly consumptionShareFen: number;
  readonly sharedCreditShareFen: number;
  /** What the room owes the student (> 0) or the student owes the room (< 0). */
  readonly equityFen: number;
  readonly direction: 'refund' | 'charge' | 'none';
  /** Non-negative amount that moves: refunded (direction refund) or charged (charge). */
  readonly amountFen: number;
}

const present = (stay: Stay, day: string) => stay.fromDay <= day && (stay.toDay === null || day < stay.toDay);

export function settleStay(input: SettlementInput): SettlementVerdict {
  const { leaver } = input;
  if (leaver.toDay < leaver.fromDay) throw new RangeError(`stay ${leaver.occupancyId} ends (${leaver.toDay}) before it begins (${leaver.fromDay})`);
  if (!Number.isSafeInteger(input.contributionsFen)) throw new RangeError('contributionsFen must be an integer');
  const stays = [...input.stays.filter((s) => s.occupancyId !== leaver.occupancyId), leaver].sort((a, b) => a.occupancyId - b.occupancyId);
  let consumptionShareFen = 0;
  let sharedCreditShareFen = 0;
  const seen = new Set<string>();
  for (const roomDay of input.days) {
    if (!present(leaver, roomDay.day)) continue;
    if (seen.has(roomDay.day)) throw new RangeError(`day ${roomDay.day} is listed twice`);
    seen.add(roomDay.day);
    const here = stays.filter((s) => present(s, roomDay.day));
    const position = here.findIndex((s) => s.occupancyId === leaver.occupancyId);
    const rotation = dayNumber(roomDay.day);
    consumptionShareFen += shareAt(roomDay.consumptionFen, here.length, position, rotation);
    sharedCreditShareFen += shareAt(roomDay.sharedCreditFen, here.length, position, rotation);
  }
  const equityFen = input.contributionsFen + consumptionShareFen + sharedCreditShareFen;
  const days = dayNumber(leaver.toDay) - dayNumber(leaver.fromDay);
  if (input.policy === 'none' || equityFen === 0) {
    return { days, contributionsFen: input.contributionsFen, consumptionShareFen, sharedCreditShareFen, equityFen, direction: 'none', amountFen: 0 };
  }
  return {
    days,
    contributionsFen: input.contributionsFen,
    consumptionShareFen,
    sharedCreditShareFen,
    equityFen,
    direction: equityFen > 0 ? 'refund' : 'charge',
    amountFen: Math.abs(equityFen),
  };
}

/** The days of [fromDay, toDay), in order (for reports and tests). */
export function daysOf(fromDay: string, toDay: string): string[] {
  const out: string[] = [];
  for (let n = dayNumber(fromDay); n < dayNumber(toDay); n++) out.push(dayFromNumber(n));
  return out;
}
