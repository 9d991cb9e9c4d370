import { chunks } from './chunks.ts';
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

/** The operators of those sessions still valid (present, unexpired, operator enabled), by token hash. */
export async function findSessionOperators(db: Executor, tokenHashes: readonly string[], now: Date): Promise<Map<string, Operator>> {
  if (tokenHashes.length === 0) return new Map();
  const rows = await db
    .selectFrom('sessions')
    .innerJoin('operators', 'operators.id', 'sessions.operator_id')
    .select(['sessions.token_hash', 'operators.id', 'operators.username', 'operators.role', 'operators.dormitory_id'])
    .where('sessions.token_hash', 'in', [...tokenHashes])
    .where('sessions.expires_at', '>', now)
    .where('operators.disabled', '=', false)
    .execute();
  return new Map(rows.map((row) => [row.token_hash, { id: row.id, username: row.username, role: row.role, dormitoryId: row.dormitory_id }]));
}

/** Ends one session; returns whether it existed. */
export async function deleteSession(db: Executor, tokenHash: string): Promise<boolean> {
  const result = await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function updatePasswordHash(db: Executor, operatorId: number, passwordHash: string): Promise<void> {
  await db.updateTable('operators').set({ password_hash: passwordHash }).where('id', '=', operatorId).execute();
}

export async function findOperatorByUsername(db: Executor, username: string): Promise<Operator | undefined> {
  const row = await db.selectFrom('operators').select(['id', 'username', 'role', 'dormitory_id']).where('username', '=', username).executeTakeFirst();
  return row ? { id: row.id, username: row.username, role: row.role, dormitoryId: row.dormitory_id } : undefined;
}

/** Ends every session of an operator; returns how many there were. */
export async function deleteSessionsOf(db: Executor, operatorId: number): Promise<number> {
  const result = await db.deleteFrom('sessions').where('operator_id', '=', operatorId).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** An operator as the user administration sees it (never the password hash). */
export interface UserAccount {
  readonly id: number;
  readonly username: string;
  readonly role: Role;
  readonly displayName: string | null;
  readonly disabled: boolean;
  readonly dormitoryId: string | null;
  readonly createdAt: string;
}

const userColumns = ['id', 'username', 'role', 'display_name', 'disabled', 'dormitory_id', 'created_at'] as const;

function toUserAccount(row: { id: number; username: string; role: Role; display_name: string | null; disabled: boolean; dormitory_id: string | null; created_at: Date }): UserAccount {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    displayName: row.display_name,
    disabled: row.disabled,
    dormitoryId: row.dormitory_id,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export async function findUserAccount(db: Executor, username: string): Promise<UserAccount | undefined> {
  const row = await db.selectFrom('operators').select(userColumns).where('username', '=', username).executeTakeFirst();
  return row ? toUserAccount(row) : undefined;
}

export async function listUserAccounts(
  db: Executor,
  filter: { role?: Role | undefined; page: number; pageSize: number },
): Promise<{ items: UserAccount[]; total: number }> {
  let query = db.selectFrom('operators');
  if (filter.role) query = query.where('role', '=', filter.role);
  const [rows, count] = await Promise.all([
    query.select(userColumns).orderBy('username').limit(filter.pageSize).offset((filter.page - 1) * filter.pageSize).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { items: rows.map(toUserAccount), total: Number(count.n) };
}

export async function insertUserAccount(
  db: Executor,
  input: { username: string; passwordHash: string; role: Role; displayName: string | null; dormitoryId?: string | null },
): Promise<UserAccount> {
  const row = await db
    .insertInto('operators')
    .values({ username: input.username, password_hash: input.passwordHash, role: input.role, display_name: input.displayName, dormitory_id: input.dormitoryId ?? null })
    .returning(userColumns)
    .executeTakeFirstOrThrow();
  return toUserAccount(row);
}

export async function updateUserAccount(
  db: Executor,
  id: number,
  patch: { role?: Role | undefined; displayName?: string | null | undefined; disabled?: boolean | undefined; passwordHash?: string | undefined; dormitoryId?: string | null | undefined },
): Promise<UserAccount> {
  const row = await db
    .updateTable('operators')
    .set({
      ...(patch.role !== undefined ? { role: patch.role } : {}),
      ...(patch.displayName !== undefined ? { display_name: patch.displayName } : {}),
      ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}),
      ...(patch.passwordHash !== undefined ? { password_hash: patch.passwordHash } : {}),
      ...(patch.dormitoryId !== undefined ? { dormitory_id: patch.dormitoryId } : {}),
    })
    .where('id', '=', id)
    .returning(userColumns)
    .executeTakeFirstOrThrow();
  return toUserAccount(row);
}

/** Active admins other than `exceptId`: the last one may not be disabled or demoted. */
export async function countOtherActiveAdmins(db: Executor, exceptId: number): Promise<number> {
  const row = await db
    .selectFrom('operators')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('role', '=', 'admin')
    .where('disabled', '=', false)
    .where('id', '!=', exceptId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Ends an operator's sessions at once (all, or all but the one making the request). */
export async function endSessionsOf(db: Executor, operatorId: number, keepTokenHash?: string): Promise<number> {
  let query = db.deleteFrom('sessions').where('operator_id', '=', operatorId);
  if (keepTokenHash) query = query.where('token_hash', '!=', keepTokenHash);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function passwordHashOf(db: Executor, id: number): Promise<string | undefined> {
  const row = await db.selectFrom('operators').select('password_hash').where('id', '=', id).executeTakeFirst();
  return row?.password_hash;
}

/** Which of `usernames` are taken by any account. */
export async function takenUsernames(db: Executor, usernames: readonly string[]): Promise<Set<string>> {
  const taken = new Set<string>();
  for (const slice of chunks([...new Set(usernames)], 5000)) {
    const rows = await db.selectFrom('operators').select('username').where('username', 'in', slice).execute();
    for (const r of rows) taken.add(r.username);
  }
  return taken;
}

/** insertUserAccount for many student logins sharing one password hash (a locked login). */
export async function insertStudentLogins(db: Executor, logins: readonly { username: string; displayName: string }[], passwordHash: string): Promise<void> {
  for (const slice of chunks(logins, 1000)) {
    await db
      .insertInto('operators')
      .values(slice.map((l) => ({ username: l.username, password_hash: passwordHash, role: 'student' as const, display_name: l.displayName, dormitory_id: null })))
      .execute();
  }
}
