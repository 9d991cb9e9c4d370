/**
 * Splits an integer amount of fen among `count` people exactly: every share is the quotient
 * or the quotient plus one fen (with the amount's sign), and the shares always add up to the
 * amount. Who gets the extra fen is decided by `rotation` (the day number when splitting a
 * day), so that over a month nobody systematically pays the odd fen: the remainder goes to
 * the positions rotation, rotation + 1, ... (mod count).
 */
export function shareAt(amountFen: number, count: number, position: number, rotation: number): number {
  if (!Number.isSafeInteger(amountFen)) throw new RangeError(`amountFen must be an integer, got ${amountFen}`);
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  if (!Number.isInteger(position) || position < 0 || position >= count) throw new RangeError(`position must be in 0..${count - 1}, got ${position}`);
  const magnitude = Math.abs(amountFen);
  const quotient = Math.floor(magnitude / count);
  const remainder = magnitude - quotient * count;
  const offset = (((position - rotation) % count) + count) % count;
  const share = quotient + (offset < remainder ? 1 : 0);
  return amountFen < 0 ? 0 - share : share; // 0 - 0 is +0, never -0
}

/** Every share of a split (index = position). */
export function splitExactly(amountFen: number, count: number, rotation: number): number[] {
  return Array.from({ length: count }, (_, position) => shareAt(amountFen, count, position, rotation));
}
