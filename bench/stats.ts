/** Order statistics of raw samples (exact, not bucketed). */
export interface Distribution {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

const EMPTY: Distribution = Object.freeze({ count: 0, p50: 0, p99: 0, max: 0, mean: 0 });

/** Nearest-rank percentile of an ascending array (p in 0..100). */
function rank(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function distribution(samples: readonly number[], digits = 1): Distribution {
  if (samples.length === 0) return EMPTY;
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (x: number) => Number(x.toFixed(digits));
  const sum = sorted.reduce((acc, x) => acc + x, 0);
  return { count: sorted.length, p50: round(rank(sorted, 50)), p99: round(rank(sorted, 99)), max: round(sorted[sorted.length - 1]!), mean: round(sum / sorted.length) };
}

export const round = (x: number, digits = 0): number => Number(x.toFixed(digits));

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `predicate` holds, polling every `everyMs`; rejects after `timeoutMs`. */
export async function waitUntil(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 1): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
