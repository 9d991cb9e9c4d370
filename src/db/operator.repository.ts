import type { Executor } from './executor.ts';
import type { Role } from './database.ts';

export interface Operator {
  readonly id: number;
  readonly username: string;
  readonly role: Role;
  readonly dormitoryId: string | null;
}

export async function countOperators(db: Executor): Promise<number> {
  const row = await db.selectFrom('operators').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertOperator(
  db: Executor,
  input: { username: string; passwordHash: string; role: Role; dormitoryId?: string | null },
): Promise<Operator> {
  const row = await db
    .insertInto('operators')
    .values({ username: input.username, password_hash: input.passwordHash, role: input.role, dormitory_id: input.dormitoryId ?? null })
    .returning(['id', 'username', 'role', 'dormitory_id'])
    .executeTakeFirstOrThrow();
  return { id: row.id, username: row.username, role: row.role, dormitoryId: row.dormitory_id };
}

export async function findOperatorCredentials(db: Executor, username: string) {
  return db
    .selectFrom('operators')
    .select(['id', 'username', 'role', 'dormitory_id', 'password_hash', 'disabled'])
    .where('username', '=', username)
    .executeTakeFirst();
}

export async function insertSession(db: Executor, tokenHash: string, operatorId: number, expiresAt: Date): Promise<void> {
  await db.insertInto('sessions').values({ token_hash: tokenHash, operator_id: operatorId, expires_at: expiresAt }).execute();
}

export async function findSessionOperator(db: Executor, tokenHash: string, now: Date): Promise<Operator | undefined> {
  const row = await db
    .selectFrom('sessions')
    .innerJoin('operators', 'operators.id', 'sessions.operator_id')
    .select(['operators.id', 'operators.username', 'operators.role', 'operators.dormitory_id'])
    .where('sessions.token_hash', '=', tokenHash)
    .where('sessions.expires_at', '>', now)
    .where('operators.disabled', '=', false)
    .executeTakeFirst();
  return row ? { id: row.id, username: row.username, role: row.role, dormitoryId: row.dormitory_id } : undefined;
}

export async function deleteSession(db: Executor, tokenHash: string): Promise<void> {
  await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
}
