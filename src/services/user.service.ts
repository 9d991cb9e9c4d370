import type { Role } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import { appendAudit } from '../db/audit.repository.ts';
import {
  countOtherActiveAdmins,
  endSessionsOf,
  findUserAccount,
  insertUserAccount,
  passwordHashOf,
  updateUserAccount,
  type UserAccount,
} from '../db/operator.repository.ts';
import { hashPassword, randomPassword, verifyPassword } from '../domain/password.ts';
import { passwordProblem } from '../domain/password-policy.ts';
import { DomainError, isUniqueViolation } from '../errors.ts';

/** Staff roles; student accounts are opened with the student record (student.service.ts). */
export type StaffRole = Exclude<Role, 'student'>;
const STAFF_ROLES: readonly Role[] = ['admin', 'manager', 'finance'];

export function assertPasswordAcceptable(password: string, username: string, field = 'password'): void {
  const problem = passwordProblem(password, username);
  if (problem) throw new DomainError('WEAK_PASSWORD', problem, field);
}

export interface NewUser {
  readonly username: string;
  /** Omitted: one is generated and returned once. */
  readonly password?: string | undefined;
  readonly role: Role;
  readonly displayName?: string | null | undefined;
}

/** Creates a staff account (admin, manager, finance), audited in the caller's transaction. */
export async function createUser(db: Executor, input: NewUser, actor: string): Promise<{ user: UserAccount; generatedPassword: string | undefined }> {
  if (!STAFF_ROLES.includes(input.role)) {
    throw new DomainError('ROLE_NOT_ALLOWED', 'student accounts are opened with the student record (POST /api/students)', 'role');
  }
  const password = input.password ?? randomPassword();
  assertPasswordAcceptable(password, input.username);
  if (await findUserAccount(db, input.username)) throw new DomainError('ALREADY_EXISTS', `user ${input.username} already exists`, 'username');
  let user: UserAccount;
  try {
    user = await insertUserAccount(db, { username: input.username, passwordHash: await hashPassword(password), role: input.role, displayName: input.displayName ?? null });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('ALREADY_EXISTS', `user ${input.username} already exists`, 'username');
    throw error;
  }
  await appendAudit(db, { operator: actor, action: 'user.create', targetType: 'operator', targetId: input.username, details: { role: input.role, displayName: user.displayName } });
  return { user, generatedPassword: input.password === undefined ? password : undefined };
}

export interface UserPatch {
  readonly role?: Role | undefined;
  readonly displayName?: string | null | undefined;
  readonly disabled?: boolean | undefined;
}

/**
 * Changes a user's role, display name or disabled flag. A disabled user's sessions are deleted
 * in the same transaction, so the next request with their token is refused. The last active
 * admin cannot be disabled or demoted (nobody could administer the system any more).
 */
export async function updateUser(db: Executor, username: string, patch: UserPatch, actor: string): Promise<UserAccount> {
  const current = await findUserAccount(db, username);
  if (!current) throw new DomainError('USER_NOT_FOUND', `user ${username} does not exist`);
  if (patch.role !== undefined && patch.role !== current.role) {
    if (current.role === 'student' || patch.role === 'student') {
      throw new DomainError('ROLE_NOT_ALLOWED', 'a student account stays a student account (it belongs to the student record)', 'role');
    }
  }
  const losesAdmin = current.role === 'admin' && !current.disabled && ((patch.role !== undefined && patch.role !== 'admin') || patch.disabled === true);
  if (losesAdmin && (await countOtherActiveAdmins(db, current.id)) === 0) {
    throw new DomainError('LAST_ADMIN', 'the last active admin cannot be disabled or demoted', patch.disabled === true ? 'disabled' : 'role');
  }
  const user = await updateUserAccount(db, current.id, patch);
  const sessionsEnded = patch.disabled === true ? await endSessionsOf(db, current.id) : 0;
  const changes: Record<string, unknown> = {};
  for (const key of ['role', 'displayName', 'disabled'] as const) {
    if (patch[key] !== undefined && patch[key] !== current[key]) changes[key] = { from: current[key], to: patch[key] };
  }
  await appendAudit(db, { operator: actor, action: 'user.update', targetType: 'operator', targetId: username, details: { changes, sessionsEnded } });
  return user;
}

/** An admin sets (or generates) a user's password; every session of that user ends. */
export async function resetPassword(db: Executor, username: string, newPassword: string | undefined, actor: string): Promise<{ generatedPassword: string | undefined; sessionsEnded: number }> {
  const current = await findUserAccount(db, username);
  if (!current) throw new DomainError('USER_NOT_FOUND', `user ${username} does not exist`);
  const password = newPassword ?? randomPassword();
  assertPasswordAcceptable(password, username);
  await updateUserAccount(db, current.id, { passwordHash: await hashPassword(password) });
  const sessionsEnded = await endSessionsOf(db, current.id);
  await appendAudit(db, { operator: actor, action: 'user.password_reset', targetType: 'operator', targetId: username, details: { generated: newPassword === undefined, sessionsEnded } });
  return { generatedPassword: newPassword === undefined ? password : undefined, sessionsEnded };
}

/** A signed-in user changes their own password; their other sessions end, this one stays. */
export async function changeOwnPassword(
  db: Executor,
  self: { id: number; username: string },
  current: string,
  next: string,
  keepTokenHash: string | undefined,
): Promise<{ sessionsEnded: number }> {
  const stored = await passwordHashOf(db, self.id);
  if (!stored || !(await verifyPassword(current, stored))) throw new DomainError('WRONG_PASSWORD', 'the current password is wrong', 'current');
  assertPasswordAcceptable(next, self.username, 'new');
  if (current === next) throw new DomainError('WEAK_PASSWORD', 'the new password must differ from the current one', 'new');
  await updateUserAccount(db, self.id, { passwordHash: await hashPassword(next) });
  const sessionsEnded = await endSessionsOf(db, self.id, keepTokenHash);
  await appendAudit(db, { operator: self.username, action: 'user.password_change', targetType: 'operator', targetId: self.username, details: { sessionsEnded } });
  return { sessionsEnded };
}
