/**
 * Deterministic randomness for the simulator: never Math.random, so a campus built from
 * the same seed behaves the same on every run.
 *
 * Two tools: `Prng` draws a sequence (used when building a campus), and `hash32` gives
 * stateless noise keyed by (who, when). Loads use the stateless form, so a meter's
 * registers depend only on the seed and the clock, never on how often it was read.
 */

/** Sequential PRNG (mulberry32): small, fast, good enough for load jitter. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Next value, uniform integer in [0, 2^32). */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  }

  /** Next value, uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Next value, uniform integer in [min, max]. */
  nextInt(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
}

/** Final avalanche of murmur3-style mixing: every input bit flips about half the output. */
function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Stateless hash of up to four integers (each taken modulo 2^32) to a uint32. */
export function hash32(a: number, b = 0, c = 0, d = 0): number {
  let h = mix32(a ^ 0x9e3779b9);
  h = mix32(h ^ Math.imul(b >>> 0, 0x85ebca6b));
  h = mix32(h ^ Math.imul(c >>> 0, 0xc2b2ae35));
  h = mix32(h ^ Math.imul(d >>> 0, 0x27d4eb2f));
  return h;
}

/** Stateless noise in [0, 1) keyed like `hash32`. */
export function noise01(a: number, b = 0, c = 0, d = 0): number {
  return hash32(a, b, c, d) / 4294967296;
}

/**
 * Cheaper noise in [0, 1) for the hot loop (one mixing round): per-slot jitter of every
 * running appliance. Consecutive `b` still give unrelated values.
 */
export function quickNoise01(a: number, b: number): number {
  return mix32(a ^ Math.imul(b >>> 0, 0x9e3779b1)) / 4294967296;
}

/** FNV-1a of a string: turns ids (dormitory, gateway) into seed material. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}
