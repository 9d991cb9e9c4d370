import type { Executor } from '../db/executor.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { findUserAccount, insertUserAccount } from '../db/operator.repository.ts';
import { findStudent, insertStudent, type NewStudent, type StudentRecord } from '../db/student.repository.ts';
import { hashPassword, randomPassword } from '../domain/password.ts';
import { DomainError, isUniqueViolation } from '../errors.ts';
import { assertPasswordAcceptable } from './user.service.ts';

/**
 * A login that no password opens (not an scrypt hash, so verifyPassword refuses it): batch-opened
 * students get one, and an administrator's password reset (POST /api/users/:username/password)
 * opens it. Hashing 10,000 generated passwords with scrypt would take minutes of CPU.
 */
/** The hash of a login opened without a password: no password matches it until one is set. */
export const LOCKED_LOGIN_HASH = 'locked:password-not-set';

/**
 * Opens a student: the register entry and a student login whose username is the student
 * number (password chosen, or generated and returned once; `login: 'locked'` opens it without
 * a password, for batches). The login reads only the dormitory the student currently lives in.
 * One transaction, audited.
 */
export async function createStudent(
  trx: Executor,
  input: NewStudent & { password?: string | undefined },
  operator: string,
  options: { login: 'password' | 'locked' } = { login: 'password' },
): Promise<{ student: StudentRecord; generatedPassword: string | undefined }> {
  const locked = options.login === 'locked';
  const password = input.password ?? randomPassword();
  if (!locked) assertPasswordAcceptable(password, input.id);
  if (await findStudent(trx, input.id)) throw new DomainError('ALREADY_EXISTS', `student ${input.id} already exists`, 'id');
  if (await findUserAccount(trx, input.id)) throw new DomainError('ALREADY_EXISTS', `a user named ${input.id} already exists`, 'id');
  try {
    await insertStudent(trx, input);
    await insertUserAccount(trx, { username: input.id, passwordHash: locked ? LOCKED_LOGIN_HASH : await hashPassword(password), role: 'student', displayName: input.name, dormitoryId: null });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('ALREADY_EXISTS', `student ${input.id} already exists`, 'id');
    throw error;
  }
  await appendAudit(trx, { operator, action: 'student.create', targetType: 'student', targetId: input.id, details: { name: input.name, college: input.college, className: input.className } });
  const student = await findStudent(trx, input.id);
  return { student: student!, generatedPassword: input.password === undefined && !locked ? password : undefined };
}
