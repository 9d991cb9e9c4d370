import type { Test } from 'tap';
import { buildApp, type App, type AppOptions } from '../../src/app.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { insertOperator } from '../../src/db/operator.repository.ts';
import { hashPassword, scryptCost } from '../../src/domain/password.ts';
import type { Kysely } from 'kysely';
import type { Database, Role } from '../../src/db/database.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

export const ADMIN_PASSWORD = 'test-admin-password';

/**
 * Test defaults: a cheap scrypt cost (the OWASP cost is proven in test/domain/password.test.ts)
 * login limits no ordinary test reaches (test/http/login-security.test.ts sets its own), and a
 * recharge approval cap at its maximum so tests that fund a room for a month are credited at once
 * (test/http/recharge-approval.test.ts sets its own cap).
 */
export const TEST_ENV: Readonly<Record<string, string>> = {
  PASSWORD_SCRYPT_LOG2N: '12',
  LOGIN_RATE_LIMIT_PER_ADDRESS: '100000',
  LOGIN_RATE_LIMIT_PER_USERNAME: '100000',
  RECHARGE_APPROVAL_THRESHOLD_FEN: '100000000',
};

export interface TestApp {
  readonly app: App;
  readonly database: TestDatabase;
  readonly config: Config;
  /** Logs in and returns the bearer header for that operator. */
  login(username: string, password: string): Promise<{ authorization: string }>;
  /** Creates an operator with the role (and dormitory, for students) and logs in. */
  as(role: Role, dormitoryId?: string): Promise<{ authorization: string }>;
}

/** A real app on a fresh database (PGlite, or a fresh schema on DATABASE_URL), torn down after the test. */
export async function createTestApp(
  t: Test,
  options: Omit<AppOptions, 'database'> & { env?: Record<string, string>; appDb?: (db: Kysely<Database>) => Kysely<Database> } = {},
): Promise<TestApp> {
  const database = await createTestDatabase();
  const config = loadConfig({ ADMIN_PASSWORD, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent', PORT: '0', HOST: '127.0.0.1', ...TEST_ENV, ...options.env });
  const { appDb, ...appOptions } = options;
  // `appDb`: what the app queries through (a test that holds one query's result); the test's own `database.db` is untouched.
  const app = await buildApp(config, { seedDemo: true, ...appOptions, database: appDb ? { ...database, db: appDb(database.db) } : database });
  t.teardown(async () => {
    await app.stop();
    await database.close();
  });
  let seq = 0;
  const login = async (username: string, password: string) => {
    const response = await app.http.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
    if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`);
    return { authorization: `Bearer ${response.json<{ token: string }>().token}` };
  };
  return {
    app,
    database,
    config,
    login,
    async as(role, dormitoryId) {
      const username = `${role}-${++seq}`;
      await insertOperator(database.db, { username, passwordHash: await hashPassword('password-123', scryptCost(config.passwordScryptLog2N)), role, dormitoryId: dormitoryId ?? null });
      return login(username, 'password-123');
    },
  };
}
