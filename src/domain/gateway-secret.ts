import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * MQTT gateway secrets: 32 random bytes (base64url), shown once when issued; only
 * `sha256$<hex>` of the secret is stored. A fast hash is enough here, unlike passwords:
 * the secret is 256 bits of randomness, so there is nothing to guess from its hash, and a
 * memory-hard hash (128 MiB of scrypt) per CONNECT would make a broker restart, when every
 * gateway reconnects at once, cost gigabytes. Session tokens are stored the same way.
 */
const SECRET_BYTES = 32;
const PREFIX = 'sha256$';

export function newGatewaySecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

export function hashGatewaySecret(secret: string): string {
  return PREFIX + createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison against a stored hash; false for a hash of any other shape. */
export function gatewaySecretMatches(secret: string, storedHash: string): boolean {
  if (!storedHash.startsWith(PREFIX)) return false;
  const expected = Buffer.from(storedHash.slice(PREFIX.length), 'hex');
  const actual = createHash('sha256').update(secret, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
