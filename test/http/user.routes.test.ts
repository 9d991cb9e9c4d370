import t from 'tap';
import { createTestApp } from '../helpers/test-app.ts';

type Inject = Awaited<ReturnType<typeof createTestApp>>['app']['http']['inject'];

t.test('an admin creates, lists, changes and disables users; a disabled user is refused at once', async (t) => {
  const { app, database, login } = await createTestApp(t, { seedDemo: false });
  const inject: Inject = app.http.inject.bind(app.http);
  const admin = await login('admin', 'test-admin-password');

  const created = await inject({ method: 'POST', url: '/api/users', headers: admin, payload: { username: 'li.finance', password: 'counting-money-1', role: 'finance', displayName: 'Li (finance)' } });
  t.equal(created.statusCode, 201, `create answers 201 (${created.body})`);
  t.match(created.json(), { user: { username: 'li.finance', role: 'finance', displayName: 'Li (finance)', disabled: false } });
  t.notOk('password' in created.json(), 'a chosen password is never echoed');

  const generated = await inject({ method: 'POST', url: '/api/users', headers: admin, payload: { username: 'wang', role: 'manager' } });
  t.equal(generated.statusCode, 201);
  const wangPassword = generated.json<{ password: string }>().password;
  t.ok(wangPassword.length >= 10, 'a generated password is returned once and meets the policy');
  const wang = await login('wang', wangPassword);

  const duplicate = await inject({ method: 'POST', url: '/api/users', headers: admin, payload: { username: 'wang', password: 'another-password', role: 'manager' } });
  t.equal(duplicate.statusCode, 409, 'a taken username is a conflict');
  t.equal(duplicate.json().error.field, 'username');
  const weak = await inject({ method: 'POST', url: '/api/users', headers: admin, payload: { username: 'zhao', password: 'short', role: 'manager' } });
  t.equal(weak.statusCode, 400, 'a short password is refused');
  t.same(weak.json().error, { code: 'WEAK_PASSWORD', message: 'password must have at least 10 characters', field: 'password' });
  const sameAsName = await inject({ method: 'POST', url: '/api/users', headers: admin, payload: { username: 'zhao-manager', password: 'ZHAO-MANAGER', role: 'manager' } });
  t.equal(sameAsName.json().error.code, 'WEAK_PASSWORD', 'the username is not a password');
  const student = await inject({ method: 'POST', url: '/api/users', headers: admin, payload: { username: 'stu', password: 'student-pass-1', role: 'student' } });
  t.equal(student.statusCode, 400, 'student accounts come with the student record');
  t.equal(student.json().error.field, 'role');
  const badRole = await inject({ method: 'POST', url: '/api/users', headers: admin, payload: { username: 'x1', password: 'student-pass-1', role: 'root' } });
  t.equal(badRole.json().error.field, 'role', 'an unknown role names the field');

  const forbidden = await inject({ method: 'POST', url: '/api/users', headers: wang, payload: { username: 'sneaky', password: 'sneaky-password', role: 'admin' } });
  t.equal(forbidden.statusCode, 403, 'a manager may not create users');
  const anonymous = await inject({ method: 'GET', url: '/api/users' });
  t.equal(anonymous.statusCode, 401, 'listing needs a session');

  const list = await inject({ method: 'GET', url: '/api/users', headers: admin });
  t.same(
    list.json<{ items: { username: string }[] }>().items.map((u) => u.username),
    ['admin', 'li.finance', 'wang'],
    'the list holds every user, by username, and no hashes',
  );
  t.notMatch(list.body, /scrypt/, 'no password hash leaves the server');

  const patched = await inject({ method: 'PATCH', url: '/api/users/wang', headers: admin, payload: { role: 'finance', displayName: 'Wang Fang' } });
  t.equal(patched.statusCode, 200);
  t.match(patched.json(), { role: 'finance', displayName: 'Wang Fang' });
  const me = await inject({ method: 'GET', url: '/api/dormitories', headers: wang });
  t.equal(me.statusCode, 200, 'the role change takes effect on the live session');
  const asFinance = await inject({ method: 'POST', url: '/api/users', headers: wang, payload: { username: 'y', password: 'y-password-1', role: 'manager' } });
  t.equal(asFinance.statusCode, 403);

  const disabled = await inject({ method: 'PATCH', url: '/api/users/wang', headers: admin, payload: { disabled: true } });
  t.equal(disabled.statusCode, 200);
  const after = await inject({ method: 'GET', url: '/api/dormitories', headers: wang });
  t.equal(after.statusCode, 401, "a disabled user's session ends at once");
  const sessions = await database.db.selectFrom('sessions').innerJoin('operators', 'operators.id', 'sessions.operator_id').select('token_hash').where('username', '=', 'wang').execute();
  t.equal(sessions.length, 0, 'their sessions are deleted, not just refused');
  const relogin = await inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'wang', password: wangPassword } });
  t.equal(relogin.statusCode, 401, 'a disabled user cannot log in');

  const lastAdmin = await inject({ method: 'PATCH', url: '/api/users/admin', headers: admin, payload: { disabled: true } });
  t.equal(lastAdmin.statusCode, 409, 'the last admin cannot be disabled');
  t.equal(lastAdmin.json().error.code, 'LAST_ADMIN');
  const demote = await inject({ method: 'PATCH', url: '/api/users/admin', headers: admin, payload: { role: 'manager' } });
  t.equal(demote.statusCode, 409, 'nor demoted');
  const empty = await inject({ method: 'PATCH', url: '/api/users/admin', headers: admin, payload: {} });
  t.equal(empty.statusCode, 400, 'an empty patch is refused');
  const missing = await inject({ method: 'PATCH', url: '/api/users/nobody', headers: admin, payload: { disabled: true } });
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().error.code, 'USER_NOT_FOUND');

  const audit = await database.db.selectFrom('audit_log').select(['operator', 'action', 'target_id', 'details']).where('target_type', '=', 'operator').where('action', 'like', 'user.%').orderBy('id').execute();
  t.same(
    audit.map((a) => [a.operator, a.action, a.target_id]),
    [
      ['admin', 'user.create', 'li.finance'],
      ['admin', 'user.create', 'wang'],
      ['admin', 'user.update', 'wang'],
      ['admin', 'user.update', 'wang'],
    ],
    'every change is audited with who made it',
  );
  t.match(audit[3]!.details, { changes: { disabled: { from: false, to: true } }, sessionsEnded: 1 });
});

t.test('password resets end sessions; an own change keeps this session and ends the others', async (t) => {
  const { app, database, login } = await createTestApp(t, { seedDemo: false });
  const inject: Inject = app.http.inject.bind(app.http);
  const admin = await login('admin', 'test-admin-password');
  t.equal((await inject({ method: 'POST', url: '/api/users', headers: admin, payload: { username: 'chen', password: 'first-password', role: 'manager' } })).statusCode, 201);
  const phone = await login('chen', 'first-password');
  const desk = await login('chen', 'first-password');

  const wrong = await inject({ method: 'POST', url: '/api/auth/password', headers: phone, payload: { current: 'not-it-at-all', new: 'second-password' } });
  t.equal(wrong.statusCode, 403, 'a wrong current password is refused');
  t.equal(wrong.json().error.field, 'current');
  const weak = await inject({ method: 'POST', url: '/api/auth/password', headers: phone, payload: { current: 'first-password', new: 'short' } });
  t.equal(weak.statusCode, 400);
  t.equal(weak.json().error.field, 'new');
  const changed = await inject({ method: 'POST', url: '/api/auth/password', headers: phone, payload: { current: 'first-password', new: 'second-password' } });
  t.equal(changed.statusCode, 200, changed.body);
  t.same(changed.json(), { sessionsEnded: 1 }, 'the other session ended');
  t.equal((await inject({ method: 'GET', url: '/api/dormitories', headers: phone })).statusCode, 200, 'the session that changed it continues');
  t.equal((await inject({ method: 'GET', url: '/api/dormitories', headers: desk })).statusCode, 401, 'the other session is gone');
  await t.rejects(login('chen', 'first-password'), 'the old password no longer works');
  await login('chen', 'second-password');

  const reset = await inject({ method: 'POST', url: '/api/users/chen/password', headers: admin, payload: {} });
  t.equal(reset.statusCode, 200, reset.body);
  const resetBody = reset.json<{ password: string; sessionsEnded: number }>();
  t.equal(resetBody.sessionsEnded, 2, 'every session of the user ends on a reset');
  t.equal((await inject({ method: 'GET', url: '/api/dormitories', headers: phone })).statusCode, 401);
  await login('chen', resetBody.password);
  const chosen = await inject({ method: 'POST', url: '/api/users/chen/password', headers: admin, payload: { password: 'chosen-by-admin' } });
  t.notOk('password' in chosen.json(), 'a chosen password is not echoed');
  await login('chen', 'chosen-by-admin');
  const forbidden = await inject({ method: 'POST', url: '/api/users/admin/password', headers: await login('chen', 'chosen-by-admin'), payload: {} });
  t.equal(forbidden.statusCode, 403, 'only an admin resets passwords');

  const audit = await database.db.selectFrom('audit_log').select(['operator', 'action']).where('target_id', '=', 'chen').where('action', 'like', 'user.password%').orderBy('id').execute();
  t.same(audit, [
    { operator: 'chen', action: 'user.password_change' },
    { operator: 'admin', action: 'user.password_reset' },
    { operator: 'admin', action: 'user.password_reset' },
  ]);
});
