/**
 * Time comes from the server, pure. A sample's `ts` (the gateway's or meter's clock) is
 * evidence, bounded by the instant the server received it: the time billing, rules and
 * plausibility see is `ts` clamped into [receivedAt - maxAgeMs, receivedAt]. A clock a little
 * ahead (within `futureSkewMs`) or a backlog a little old (within `maxAgeMs`) is ordinary and
 * clamped silently; beyond either bound the sample is still used (its register is cumulative,
 * so nothing is lost) but its time is clamped and the skew is reported, to be counted.
 * A forged `ts` years ahead therefore grants no quota early, widens no plausibility limit and
 * moves no cursor into the future.
 */
export interface SampleTimePolicy {
  /** How far ahead of the receive time a sample's clock may be before it counts as skewed. */
  readonly futureSkewMs: number;
  /** How far behind the receive time a sample may be; older samples are clamped to this age. */
  readonly maxAgeMs: number;
}

/**
 * 2 minutes ahead, 15 minutes behind: enough for a clock a little fast, a frame delayed in a
 * broker queue or a Modbus retry. A gateway's backlog older than that is clamped and counted:
 * its energy is still billed, spread from the billing position to the clamped time.
 */
export const DEFAULT_SAMPLE_TIME_POLICY: SampleTimePolicy = Object.freeze({ futureSkewMs: 120_000, maxAgeMs: 900_000 });

export interface BoundedSampleTime {
  readonly at: number;
  /** 'future' / 'past' when `ts` lay outside the window (counted and logged by the caller). */
  readonly skew: 'none' | 'future' | 'past';
}

export function boundSampleTime(ts: number, receivedAt: number, policy: SampleTimePolicy = DEFAULT_SAMPLE_TIME_POLICY): BoundedSampleTime {
  const oldest = receivedAt - policy.maxAgeMs;
  if (!Number.isFinite(ts)) return { at: receivedAt, skew: 'future' };
  if (ts > receivedAt + policy.futureSkewMs) return { at: receivedAt, skew: 'future' };
  if (ts < oldest) return { at: oldest, skew: 'past' };
  return { at: Math.min(ts, receivedAt), skew: 'none' };
}
