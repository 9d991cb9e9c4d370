import { createHmac, timingSafeEqual } from 'node:crypto';

export function hmacSha256(secret: string, message: string): Buffer {
  return createHmac('sha256', secret).update(message, 'utf8').digest();
}

/** Compares a presented signature with the expected one in constant time (length first, which is public). */
export function signatureMatches(expected: Buffer, presented: Buffer): boolean {
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}
