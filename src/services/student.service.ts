import type { Executor } from '../db/executor.ts';
import { appendAudit } from '../db/audit.repository.ts';
import { findUserAccount, insertUserAccount } from '../db/operator.repository.ts';
import { findStudent, insertStudent, type NewStudent, type StudentRecord } from '../db/student.repository.ts';
import { hashPassword, randomPassword } from '../domain/password.ts';
import { DomainError } from '../errors.ts';
import { assertPasswordAcceptable, isUniqueViolation } from './user.service.ts';

/**
 * Opens a student: the register entry and a student login whose username is the student
 * number (password chosen, or generated and returned once). The login reads only the
 * dormitory the student currently lives in. One transaction, audited.
 */
export async function createStudent(
  trx: Executor,
  input: NewStudent & { password?: string | undefined },
  operator: string,
): Promise<{ student: StudentRecord; generatedPassword: string | undefined }> {
  const password = input.password ?? randomPassword();
  assertPasswordAcceptable(password, input.id);
  if (await findStudent(trx, input.id)) throw new DomainError('ALREADY_EXISTS', `student ${input.id} already exists`, 'id');
  if (await findUserAccount(trx, input.id)) throw new DomainError('ALREADY_EXISTS', `a user named ${input.id} already exists`, 'id');
  try {
    await insertStudent(trx, input);
    await insertUserAccount(trx, { username: input.id, passwordHash: await hashPassword(password), role: 'student', displayName: input.name, dormitoryId: null });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('ALREADY_EXISTS', `student ${input.id} already exists`, 'id');
    throw error;
  }
  await appendAudit(trx, { operator, action: 'student.create', targetType: 'student', targetId: input.id, details: { name: input.name, college: input.college, className: input.className } });
  const student = await findStudent(trx, input.id);
  return { student: student!, generatedPassword: input.password === undefined ? password : undefined };
}
