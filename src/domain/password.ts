import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * scrypt password hashes, stored with their own cost as `scrypt$N$r$p$salt$hash` (base64url),
 * so a hash made at an older cost still verifies and can be upgraded at the next login.
 */
export interface ScryptCost {
  readonly log2N: number;
  readonly r: number;
  readonly p: number;
}

/** OWASP Password Storage Cheat Sheet: scrypt N=2^17, r=8, p=1 (128 MiB per hash). */
export const OWASP_SCRYPT_COST: ScryptCost = { log2N: 17, r: 8, p: 1 };
/** The OWASP shape (r=8, p=1) at a chosen N = 2^log2N (tests use a cheaper N). */
export const scryptCost = (log2N: number): ScryptCost => ({ log2N, r: 8, p: 1 });
const KEY_LENGTH = 32;
/** Bounds on a stored cost, so a tampered row cannot ask for gigabytes. */
const MAX_LOG2N = 20;
const MAX_R = 32;
const MAX_P = 16;

function scrypt(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** scrypt needs 128·N·r bytes; Node refuses more than 32 MiB unless told. */
const maxmemFor = (n: number, r: number): number => 128 * n * r + 32 * 1024 * 1024;

export async function hashPassword(password: string, cost: ScryptCost = OWASP_SCRYPT_COST): Promise<string> {
  const salt = randomBytes(16);
  const n = 2 ** cost.log2N;
  const key = await scrypt(password, salt, KEY_LENGTH, { N: n, r: cost.r, p: cost.p, maxmem: maxmemFor(n, cost.r) });
  return ['scrypt', n, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

interface StoredHash {
  readonly n: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

function parse(stored: string): StoredHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const log2N = Math.log2(n);
  if (!Number.isInteger(log2N) || log2N < 1 || log2N > MAX_LOG2N) return undefined;
  if (!Number.isInteger(r) || r < 1 || r > MAX_R || !Number.isInteger(p) || p < 1 || p > MAX_P) return undefined;
  return { n, r, p, salt: Buffer.from(parts[4]!, 'base64url'), key: Buffer.from(parts[5]!, 'base64url') };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const hash = parse(stored);
  if (!hash || hash.key.length === 0) return false;
  const key = await scrypt(password, hash.salt, hash.key.length, { N: hash.n, r: hash.r, p: hash.p, maxmem: maxmemFor(hash.n, hash.r) });
  return timingSafeEqual(key, hash.key);
}

/** True when a stored hash was made at another cost than the current one (upgrade it at login). */
export function needsRehash(stored: string, cost: ScryptCost = OWASP_SCRYPT_COST): boolean {
  const hash = parse(stored);
  return !hash || hash.n !== 2 ** cost.log2N || hash.r !== cost.r || hash.p !== cost.p;
}

export function randomPassword(): string {
  return randomBytes(12).toString('base64url');
}
