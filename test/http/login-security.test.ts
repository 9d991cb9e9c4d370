import t from 'tap';
import { insertOperator } from '../../src/db/operator.repository.ts';
import { hashPassword, scryptCost } from '../../src/domain/password.ts';
import { createTestApp } from '../helpers/test-app.ts';

const login = (app: Awaited<ReturnType<typeof createTestApp>>['app'], username: string, password: string, remoteAddress = '127.0.0.1') =>
  app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password }, remoteAddress });

t.test('login is rate-limited per address: 429 with Retry-After; other addresses are not affected', async (t) => {
  const { app } = await createTestApp(t, { env: { LOGIN_RATE_LIMIT_PER_ADDRESS: '5', LOGIN_RATE_WINDOW_MS: '60000' } });
  for (let i = 0; i < 5; i++) t.equal((await login(app, `nobody-${i}`, 'wrong-password', '10.0.0.1')).statusCode, 401, `attempt ${i + 1} is judged`);
  const limited = await login(app, 'admin', 'test-admin-password', '10.0.0.1');
  t.equal(limited.statusCode, 429, 'the 6th attempt from the address is refused, even with the right password');
  t.equal(limited.json().error.code, 'RATE_LIMITED');
  const retryAfter = Number(limited.headers['retry-after']);
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After says when to come back (${limited.headers['retry-after']} s)`);
  t.equal((await login(app, 'admin', 'test-admin-password', '10.0.0.2')).statusCode, 200, 'another address logs in');
});

t.test('login is rate-limited per username, whatever the address', async (t) => {
  const { app } = await createTestApp(t, { env: { LOGIN_RATE_LIMIT_PER_USERNAME: '3' } });
  for (let i = 0; i < 3; i++) t.equal((await login(app, 'admin', 'guess', `10.0.1.${i}`)).statusCode, 401, `guess ${i + 1} from its own address is judged`);
  const limited = await login(app, 'Admin', 'test-admin-password', '10.0.1.99');
  t.equal(limited.statusCode, 429, 'the 4th attempt on the username (any case) is refused');
  t.equal(limited.json().error.field, 'username', 'names the username as the limited field');
  t.ok(Number(limited.headers['retry-after']) >= 1, 'with Retry-After');
  t.equal((await login(app, 'someone-else', 'guess', '10.0.1.99')).statusCode, 401, 'another username from that address is still judged');
});

t.test('failed logins are audited; an unknown user costs the same time as a known one', async (t) => {
  // The OWASP cost would make this test slow; 2^15 keeps scrypt the dominant cost all the same.
  const { app, database } = await createTestApp(t, { env: { PASSWORD_SCRYPT_LOG2N: '15' } });
  t.equal((await login(app, 'admin', 'wrong-password')).statusCode, 401);
  t.equal((await login(app, 'ghost', 'whatever')).statusCode, 401);
  const failures = await database.db.selectFrom('audit_log').select(['operator', 'details']).where('action', '=', 'login.failed').orderBy('id').execute();
  t.same(
    failures.map((f) => [f.operator, (f.details as { reason: string }).reason, (f.details as { address: string }).address]),
    [
      ['admin', 'wrong_password', '127.0.0.1'],
      ['ghost', 'unknown_user', '127.0.0.1'],
    ],
    'each failure is in the audit log with the name tried, why, and the address',
  );

  const timeOf = async (username: string) => {
    const started = performance.now();
    await login(app, username, 'not-the-password');
    return performance.now() - started;
  };
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 7; i++) {
    known.push(await timeOf('admin'));
    unknown.push(await timeOf(`ghost-${i}`));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ratio = median(unknown) / median(known);
  t.ok(ratio > 0.5 && ratio < 2, `unknown users take as long as known ones (median ${median(unknown).toFixed(1)} ms vs ${median(known).toFixed(1)} ms)`);
});

t.test('a hash made at an older scrypt cost is upgraded at the next login', async (t) => {
  const { app, database, config } = await createTestApp(t);
  const old = await hashPassword('old-password-1', scryptCost(10));
  await insertOperator(database.db, { username: 'veteran', passwordHash: old, role: 'finance' });
  t.equal((await login(app, 'veteran', 'old-password-1')).statusCode, 200, 'the old hash still verifies');
  const stored = await database.db.selectFrom('operators').select('password_hash').where('username', '=', 'veteran').executeTakeFirstOrThrow();
  t.equal(stored.password_hash.split('$')[1], String(2 ** config.passwordScryptLog2N), `the stored hash now has N = 2^${config.passwordScryptLog2N}`);
  t.not(stored.password_hash, old, 'the hash was replaced');
  t.equal((await login(app, 'veteran', 'old-password-1')).statusCode, 200, 'and the new hash verifies');
  const rehashes = await database.db.selectFrom('audit_log').select('operator').where('action', '=', 'password.rehash').execute();
  t.same(rehashes.map((r) => r.operator), ['veteran'], 'the upgrade is audited once');
});

t.test('logout revokes the token; an admin revokes all sessions of a user', async (t) => {
  const { app, database, login: signIn, as } = await createTestApp(t);
  const get = (headers: Record<string, string>) => app.http.inject({ method: 'GET', url: '/api/dormitories?pageSize=1', headers });

  const finance = await as('finance');
  t.equal((await get(finance)).statusCode, 200, 'the token works');
  const out = await app.http.inject({ method: 'POST', url: '/api/auth/logout', headers: finance });
  t.equal(out.statusCode, 204, 'logout answers 204');
  t.equal((await get(finance)).statusCode, 401, 'the token no longer works');
  t.equal((await app.http.inject({ method: 'POST', url: '/api/auth/logout', headers: finance })).statusCode, 401, 'a second logout is refused');

  await insertOperator(database.db, { username: 'warden', passwordHash: await hashPassword('warden-password', scryptCost(12)), role: 'manager' });
  const phone = await signIn('warden', 'warden-password');
  const desk = await signIn('warden', 'warden-password');
  const admin = await signIn('admin', 'test-admin-password');
  t.equal((await app.http.inject({ method: 'DELETE', url: '/api/users/warden/sessions', headers: phone })).statusCode, 403, 'a manager cannot revoke sessions');
  const revoked = await app.http.inject({ method: 'DELETE', url: '/api/users/warden/sessions', headers: admin });
  t.equal(revoked.statusCode, 200);
  t.same(revoked.json(), { username: 'warden', revoked: 2 }, 'both sessions are revoked');
  t.equal((await get(phone)).statusCode, 401, 'the first token is dead');
  t.equal((await get(desk)).statusCode, 401, 'the second token is dead');
  t.equal((await get(admin)).statusCode, 200, "the admin's own session is untouched");
  const missing = await app.http.inject({ method: 'DELETE', url: '/api/users/nobody/sessions', headers: admin });
  t.equal(missing.statusCode, 404, 'an unknown user is a 404');
  t.equal(missing.json().error.field, 'username');
  const audit = await database.db.selectFrom('audit_log').select(['operator', 'action']).where('action', 'in', ['logout', 'sessions.revoke']).orderBy('id').execute();
  t.same(audit.map((a) => [a.operator, a.action]), [['finance-1', 'logout'], ['admin', 'sessions.revoke']], 'logout and revocation are audited');
});
