/**
 * When a purse's pending consumption charges go to the ledger.
 *
 * Each dormitory posts on its own grid: the boundaries `phaseMs + k x intervalMs` of its clock,
 * with a phase taken from its id (`postingPhase`). A purse whose first pending charge was measured
 * in one grid slot posts with the first reading measured in a later slot, so a charge waits at most
 * about one interval, and a room posts at most once a slot.
 *
 * The grid, not "one interval after the first pending charge", is what keeps a campus's postings
 * spread: the rooms of a campus booted together, opened together (a fresh campus: every meter's
 * opening posts at once), or posted together (the office's quota issuance, a period's lapse, a
 * flush) would otherwise all post in the same second of every interval from then on, a burst of
 * one ledger record per meter each minute (issue 13).
 */

/** A dormitory's posting phase, a fraction of the interval in [0, 1) taken from its id (FNV-1a): spread, and the same at every boot. */
export function postingPhase(dormitoryId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < dormitoryId.length; i++) hash = Math.imul(hash ^ dormitoryId.charCodeAt(i), 0x01000193) >>> 0;
  return hash / 2 ** 32;
}

/** The dormitory's phase in clock ms, in [0, intervalMs). */
export function postingPhaseMs(dormitoryId: string, intervalMs: number): number {
  return Math.floor(intervalMs * postingPhase(dormitoryId));
}

/**
 * Whether a purse whose first pending charge was measured at `firstAt` (null: nothing pending)
 * posts with a reading measured at `measuredAt`: the two lie in different slots of the grid (an
 * interval of 0: always).
 */
export function postingDue(firstAt: number | null, measuredAt: number, phaseMs: number, intervalMs: number): boolean {
  if (firstAt === null) return false;
  if (intervalMs <= 0) return true; // BILLING_POST_INTERVAL_MS=0: every charge posts with its reading
  return Math.floor((measuredAt - phaseMs) / intervalMs) > Math.floor((firstAt - phaseMs) / intervalMs);
}
