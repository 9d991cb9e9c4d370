import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Heap and resident set at one moment, bytes, after a full collection when one is available. */
export interface MemoryMark {
  readonly heapUsed: number;
  readonly rss: number;
  readonly external: number;
  readonly collected: boolean;
}

let collector: (() => void) | null | undefined;

/** `gc()` without a command-line flag (the bench runs through `npm run bench`). */
function gcFunction(): (() => void) | null {
  if (collector !== undefined) return collector;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    collector = typeof gc === 'function' ? () => void (gc as () => unknown)() : null;
  } catch {
    collector = null;
  }
  return collector;
}

export async function markMemory(): Promise<MemoryMark> {
  const gc = gcFunction();
  if (gc) {
    // Twice, with a turn between: the second pass takes what the first one's finalisers freed.
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  const usage = process.memoryUsage();
  return { heapUsed: usage.heapUsed, rss: usage.rss, external: usage.external, collected: gc !== null };
}

export interface MemoryFigures {
  readonly dormitories: number;
  readonly heapUsedBeforeBootMb: number;
  readonly heapUsedAfterBootMb: number;
  readonly rssBeforeBootMb: number;
  readonly rssAfterBootMb: number;
  /** Heap growth from booting the tree (gateways, dormitories, meters, circuits and their topology) per dormitory. */
  readonly heapBytesPerDormitory: number;
  readonly rssBytesPerDormitory: number;
  /** Heap after the load (interval accumulators, pending charges, live states): per dormitory over the pre-boot heap; null when the load did not complete. */
  readonly heapBytesPerDormitoryAfterLoad: number | null;
  readonly gcForced: boolean;
}

const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

export function memoryFigures(dormitories: number, before: MemoryMark, booted: MemoryMark, loaded?: MemoryMark): MemoryFigures {
  return {
    dormitories,
    heapUsedBeforeBootMb: mb(before.heapUsed),
    heapUsedAfterBootMb: mb(booted.heapUsed),
    rssBeforeBootMb: mb(before.rss),
    rssAfterBootMb: mb(booted.rss),
    heapBytesPerDormitory: Math.round((booted.heapUsed - before.heapUsed) / dormitories),
    rssBytesPerDormitory: Math.round((booted.rss - before.rss) / dormitories),
    heapBytesPerDormitoryAfterLoad: loaded ? Math.round((loaded.heapUsed - before.heapUsed) / dormitories) : null,
    gcForced: before.collected,
  };
}
