import t from 'tap';
import { loadConfig } from '../src/config.ts';
import { startupLines } from '../src/server.ts';
import { ensureAdmin } from '../src/services/bootstrap-admin.ts';
import { scryptCost } from '../src/domain/password.ts';
import { createTestDatabase } from './helpers/test-database.ts';

t.test('a password the operator supplied is never echoed; a generated one is shown once', async (t) => {
  const config = loadConfig({ ADMIN_PASSWORD: 'Operator-Chosen-Pw' });
  const supplied = await createTestDatabase();
  t.teardown(() => supplied.close());
  const admin = await ensureAdmin(supplied.db, config.adminPassword, scryptCost(10));
  t.equal(admin.password, undefined, 'ensureAdmin does not hand the supplied password back');
  const lines = startupLines('http://localhost:3000', admin, config).join('\n');
  t.notOk(lines.includes('Operator-Chosen-Pw'), 'the start-up banner does not print it');

  const generatedDb = await createTestDatabase();
  t.teardown(() => generatedDb.close());
  const generated = await ensureAdmin(generatedDb.db, undefined, scryptCost(10));
  t.ok(generated.password && generated.generated, 'a generated password is returned');
  t.match(startupLines('http://localhost:3000', generated, config).join('\n'), generated.password!, 'and printed once');
  t.equal((await ensureAdmin(generatedDb.db, undefined, scryptCost(10))).password, undefined, 'a later start prints nothing');
});

t.test('two first starts at the same instant: one creates the admin and shows its password, the other shows none and does not fail', async (t) => {
  const database = await createTestDatabase();
  t.teardown(() => database.close());
  const both = await Promise.all([ensureAdmin(database.db, undefined, scryptCost(10)), ensureAdmin(database.db, undefined, scryptCost(10))]);
  t.equal(both.filter((a) => a.generated && a.password).length, 1, 'exactly one generated (and shows) a password');
  const admins = await database.db.selectFrom('operators').select('username').execute();
  t.same(admins, [{ username: 'admin' }], 'one admin exists');
});
