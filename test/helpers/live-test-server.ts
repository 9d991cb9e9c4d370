import Fastify, { type FastifyInstance } from 'fastify';
import type { Test } from 'tap';
import type { AppContext } from '../../src/app-context.ts';
import { SystemClock } from '../../src/clock.ts';
import { loadConfig } from '../../src/config.ts';
import { insertOperator } from '../../src/db/operator.repository.ts';
import { hashPassword, scryptCost } from '../../src/domain/password.ts';
import authPlugin from '../../src/http/auth.plugin.ts';
import dashboardPlugin from '../../src/http/dashboard.plugin.ts';
import displayTokenRoutes from '../../src/http/display-token.routes.ts';
import notificationRoutes from '../../src/http/notification.routes.ts';
import studentUsageRoutes from '../../src/http/student-usage.routes.ts';
import dormitoryRoutes from '../../src/http/dormitory.routes.ts';
import errorHandler, { frameworkErrors } from '../../src/http/error-handler.plugin.ts';
import inputGuard from '../../src/http/input-guard.plugin.ts';
import liveWebSocket, { type LiveWebSocketOptions } from '../../src/http/live.websocket.ts';
import rechargeRoutes from '../../src/http/recharge.routes.ts';
import sessionRoutes from '../../src/http/session.routes.ts';
import userRoutes from '../../src/http/user.routes.ts';
import validationPlugin from '../../src/http/validation.plugin.ts';
import { createLogger } from '../../src/logger.ts';
import { ensureAdmin } from '../../src/services/bootstrap-admin.ts';
import { seedDemoCampus } from '../../src/services/demo-campus.seed.ts';
import { FakeLiveFeed, liveStatesFromDatabase } from './fake-live-feed.ts';
import { ADMIN_PASSWORD, TEST_ENV } from './test-app.ts';
import { createTestDatabase } from './test-database.ts';

export interface LiveTestServer {
  readonly app: FastifyInstance;
  readonly context: AppContext;
  readonly feed: FakeLiveFeed;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** ws://127.0.0.1:<port> */
  readonly wsUrl: string;
  /** Logs in over HTTP and returns the bearer token. */
  token(username: string, password: string): Promise<string>;
  /** Creates a student of the dormitory (username and password returned) and logs them in. */
  student(dormitoryId: string): Promise<{ username: string; password: string; token: string }>;
  /** Mints a wall display token as the admin (POST /api/display-tokens) and returns it. */
  displayToken(name?: string): Promise<string>;
  /**
   * Stops the server (every socket dropped) and starts a new one on the same port and the same
   * database, with a new feed loaded from it: what a wall sees when the server restarts.
   * `app`, `feed` and `context` are the new server's afterwards. `whileDown`, when given, runs
   * between the two and the new server starts only when it is done: a test can look at what a
   * client shows while the server is away, however long the machine takes to show it.
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

/**
 * A real Fastify server on a fresh, seeded database (200 demo dormitories) with the HTTP plugins
 * from src/http and the live WebSocket driven by a FakeLiveFeed, listening on an ephemeral port.
 * Built here rather than through buildApp because the app does not register these plugins yet.
 */
export async function startLiveTestServer(t: Test, options: { dashboard?: boolean; live?: Partial<Omit<LiveWebSocketOptions, 'feed' | 'context'>> } = {}): Promise<LiveTestServer> {
  const database = await createTestDatabase();
  const config = loadConfig({ ADMIN_PASSWORD, LOG_LEVEL: 'silent', PORT: '0', HOST: '127.0.0.1', ...TEST_ENV });
  const clock = new SystemClock();
  const context: AppContext = { config, db: database.db, clock, log: createLogger(config) };
  await ensureAdmin(database.db, ADMIN_PASSWORD, scryptCost(config.passwordScryptLog2N));
  await seedDemoCampus(database.db, new Date(clock.now()));

  const build = async (port: number) => {
    const feed = new FakeLiveFeed(await liveStatesFromDatabase(database.db, clock.now()));
    const app = Fastify({ bodyLimit: 1_048_576, frameworkErrors });
    await registerPlugins(app, feed);
    const url = await app.listen({ port, host: '127.0.0.1' });
    return { app, feed, url };
  };
  const registerPlugins = async (app: FastifyInstance, feed: FakeLiveFeed) => {
    await app.register(errorHandler);
    await app.register(validationPlugin);
    await app.register(inputGuard);
    await app.register(authPlugin, { context });
    await app.register(dormitoryRoutes, { context });
    await app.register(rechargeRoutes, { context });
    await app.register(sessionRoutes, { context });
    await app.register(userRoutes, { context });
    await app.register(displayTokenRoutes, { context });
    await app.register(notificationRoutes, { context });
    await app.register(studentUsageRoutes, { context });
    await app.register(liveWebSocket, { feed, context, ...options.live });
    if (options.dashboard) await app.register(dashboardPlugin);
  };
  let current = await build(0);
  t.teardown(async () => {
    await current.app.close();
    await database.close();
  });
  const url = current.url;

  const token = async (username: string, password: string): Promise<string> => {
    const response = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    if (response.status !== 200) throw new Error(`login failed: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { token: string }).token;
  };
  let seq = 0;
  return {
    get app() {
      return current.app;
    },
    context,
    get feed() {
      return current.feed;
    },
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    token,
    async student(dormitoryId) {
      const username = `student-${dormitoryId}-${++seq}`;
      const password = 'student-password-1';
      await insertOperator(database.db, { username, passwordHash: await hashPassword(password, scryptCost(config.passwordScryptLog2N)), role: 'student', dormitoryId });
      return { username, password, token: await token(username, password) };
    },
    async displayToken(name = 'wall') {
      const response = await fetch(`${url}/api/display-tokens`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('admin', ADMIN_PASSWORD)}` }, body: JSON.stringify({ name }) });
      if (response.status !== 201) throw new Error(`minting a display token failed: ${response.status} ${await response.text()}`);
      return ((await response.json()) as { token: string }).token;
    },
    async restart(whileDown?: () => Promise<void>) {
      await current.app.close();
      await whileDown?.();
      current = await build(Number(new URL(url).port));
    },
  };
}
