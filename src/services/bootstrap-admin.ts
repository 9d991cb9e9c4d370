import type { Kysely } from 'kysely';
import type { Database } from '../db/database.ts';
import { countOperators, insertOperator } from '../db/operator.repository.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { hashPassword, randomPassword } from '../domain/password.ts';

export interface AdminCredentials {
  readonly username: string;
  /** Only set when this start created the admin; printed once, never stored in clear. */
  readonly password: string | undefined;
  readonly generated: boolean;
}

/** On first start (no operator at all) creates `admin` with ADMIN_PASSWORD or a random one. */
export async function ensureAdmin(db: Kysely<Database>, adminPassword: string | undefined): Promise<AdminCredentials> {
  if ((await countOperators(db)) > 0) return { username: 'admin', password: undefined, generated: false };
  const password = adminPassword ?? randomPassword();
  const operator = await insertOperator(db, { username: 'admin', passwordHash: await hashPassword(password), role: 'admin' });
  await appendAudit(db, { operator: 'system', action: 'operator.create', targetType: 'operator', targetId: String(operator.id), details: { username: 'admin', role: 'admin' } });
  return { username: 'admin', password, generated: adminPassword === undefined };
}
