// CI: also on PGlite + the embedded broker (the CLI opens a PGlite DATA_DIR, not DATABASE_URL).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { openDatabase, type DatabaseHandle } from '../../src/db/connect.ts';
import { verifyPassword } from '../../src/domain/password.ts';
import { createTestDatabase } from '../helpers/test-database.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/campus-prepaid.js');

/** Runs the CLI with `input` piped to stdin (or stdin closed empty). */
function cli(args: string[], env: Record<string, string>, input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

// Each run boots tsx and opens the database: slow on a busy machine.
t.setTimeout(600_000);

t.test('campus-prepaid user add / reset-password: the first and the lost admin', async (t) => {
  let env: Record<string, string>;
  let open: () => Promise<DatabaseHandle>;
  let release: (h: DatabaseHandle) => Promise<void>;
  if (process.env.DATABASE_URL) {
    const database = await createTestDatabase();
    t.teardown(() => database.close());
    env = { DATABASE_URL: `${database.databaseUrl}${database.databaseUrl!.includes('?') ? '&' : '?'}options=-c%20search_path%3D${database.schema}` };
    open = async () => database;
    release = async () => undefined;
  } else {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'user-cli-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    env = { DATA_DIR: dataDir };
    open = () => openDatabase({ dataDir });
    release = (h) => h.close(); // PGlite: one process per data directory
  }
  const hashOf = async (username: string) => {
    const handle = await open();
    try {
      return (await handle.db.selectFrom('operators').select(['password_hash', 'role', 'display_name']).where('username', '=', username).executeTakeFirst()) ?? undefined;
    } finally {
      await release(handle);
    }
  };

  const piped = await cli(['user', 'add', 'root', '--role', 'admin', '--display-name', 'Night shift'], env, 'from-stdin-secret\n');
  t.equal(piped.code, 0, `user add exits 0 (${piped.stderr})`);
  t.match(piped.stdout, /created admin root/);
  t.notMatch(piped.stdout, /password:/, 'a piped password is not printed');
  const root = await hashOf('root');
  t.equal(root?.role, 'admin');
  t.equal(root?.display_name, 'Night shift');
  t.ok(root && (await verifyPassword('from-stdin-secret', root.password_hash)), 'the stored hash verifies the piped password (newline stripped)');

  const generated = await cli(['user', 'add', 'clerk', '--role', 'finance'], env, '');
  t.equal(generated.code, 0, generated.stderr);
  const printed = /password: (\S+)/.exec(generated.stdout)?.[1];
  t.ok(printed && printed.length >= 10, 'an empty stdin generates a password and prints it once');
  const clerk = await hashOf('clerk');
  t.ok(clerk && printed && (await verifyPassword(printed, clerk.password_hash)), 'the printed password is the stored one');

  const reset = await cli(['user', 'reset-password', 'root'], env, '');
  t.equal(reset.code, 0, reset.stderr);
  const newPassword = /password: (\S+)/.exec(reset.stdout)?.[1];
  const rootAfter = await hashOf('root');
  t.ok(rootAfter && newPassword && (await verifyPassword(newPassword, rootAfter.password_hash)), 'reset-password sets the printed password');
  t.notOk(rootAfter && (await verifyPassword('from-stdin-secret', rootAfter.password_hash)), 'the lost password no longer works');

  const weak = await cli(['user', 'reset-password', 'root'], env, 'short\n');
  t.equal(weak.code, 1, 'a weak password is refused with exit 1');
  t.match(weak.stderr, /WEAK_PASSWORD/);
  const student = await cli(['user', 'add', 'x', '--role', 'student'], env, '');
  t.equal(student.code, 2, 'students are not created here (usage error, exit 2)');
});
