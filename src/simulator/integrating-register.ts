/**
 * A meter's cumulative register (energy in Wh, volume in L): an integer that a rate is
 * integrated into over clock time.
 *
 * Invariant: everything is integer arithmetic below 2^53, so the register after any
 * sequence of `add` calls is exactly floor(initial + sum(rate x duration) / scale); the
 * fraction of a unit not yet counted is carried forward, never rounded away. Splitting an
 * interval into more or fewer pieces therefore never changes the register.
 */
export class IntegratingRegister {
  private whole: number;
  /** Uncounted rate x duration, always in [0, scale). */
  private remainder = 0;

  /**
   * @param scale rate-units x ms that make one register unit (mW x ms per Wh = 3.6e9).
   * @param initialValue the register's starting value, whole units.
   */
  constructor(
    private readonly scale: number,
    initialValue = 0,
  ) {
    if (!Number.isSafeInteger(scale) || scale <= 0) throw new RangeError(`register scale must be a positive integer, got ${scale}`);
    if (!Number.isSafeInteger(initialValue) || initialValue < 0) {
      throw new RangeError(`register initial value must be a non-negative integer, got ${initialValue}`);
    }
    this.whole = initialValue;
  }

  /** The register, whole units (what the meter displays and billing reads). */
  get value(): number {
    return this.whole;
  }

  /** Adds `rate` (non-negative integer) sustained for `durationMs` (non-negative integer). */
  add(rate: number, durationMs: number): void {
    if (rate === 0 || durationMs === 0) return;
    const total = this.remainder + rate * durationMs;
    if (!Number.isSafeInteger(total) || rate < 0 || durationMs < 0) {
      throw new RangeError(`cannot integrate rate ${rate} over ${durationMs} ms exactly`);
    }
    const units = Math.floor(total / this.scale);
    this.whole += units;
    this.remainder = total - units * this.scale;
  }
}
