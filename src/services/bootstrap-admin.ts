import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import { countOperators, insertOperator } from '../db/operator.repository.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { hashPassword, OWASP_SCRYPT_COST, randomPassword, type ScryptCost } from '../domain/password.ts';
import { isUniqueViolation } from '../errors.ts';

export interface AdminCredentials {
  readonly username: string;
  /**
   * Only set when this start created the admin with a generated password: printed once, never
   * stored in clear. A password the operator supplied (ADMIN_PASSWORD) is never echoed.
   */
  readonly password: string | undefined;
  readonly generated: boolean;
}

/** On first start (no operator at all) creates `admin` with ADMIN_PASSWORD or a random one. */
export async function ensureAdmin(db: Kysely<Database>, adminPassword: string | undefined, cost: ScryptCost = OWASP_SCRYPT_COST): Promise<AdminCredentials> {
  if ((await countOperators(db)) > 0) return { username: 'admin', password: undefined, generated: false };
  const password = adminPassword ?? randomPassword();
  let operator: Awaited<ReturnType<typeof insertOperator>>;
  try {
    operator = await insertOperator(db, { username: 'admin', passwordHash: await hashPassword(password, cost), role: 'admin' });
  } catch (error) {
    // Two first starts at the same instant: the other one created the admin (and printed its password).
    if (isUniqueViolation(error)) return { username: 'admin', password: undefined, generated: false };
    throw error;
  }
  await appendAudit(db, { operator: 'system', action: 'operator.create', targetType: 'operator', targetId: String(operator.id), details: { username: 'admin', role: 'admin' } });
  const generated = adminPassword === undefined;
  return { username: 'admin', password: generated ? password : undefined, generated };
}
