import t from 'tap';
import { WebSocket } from 'ws';
import { insertOperator } from '../../src/db/operator.repository.ts';
import { hashPassword, scryptCost } from '../../src/domain/password.ts';
import { LIVE_CLOSE_CODES, SESSION_ENDED_REASON } from '../../src/http/live.websocket.ts';
import { startLiveTestServer } from '../helpers/live-test-server.ts';
import { ADMIN_PASSWORD } from '../helpers/test-app.ts';

/**
 * An open live WebSocket lives no longer than its session: logout, an admin's revoke, a
 * disabled user or a new role close it (4401) at once; a session ended where this process did
 * not see it (another node, a direct delete) is noticed at the next keepalive tick.
 */
interface Socket {
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
}

function open(url: string, token: string): Socket {
  const ws = new WebSocket(`${url}/ws/live?token=${token}`);
  ws.on('error', () => undefined);
  const opened = new Promise<void>((resolve) => ws.once('message', () => resolve())); // the snapshot
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { ws, opened, closed };
}

const ENDED = { code: LIVE_CLOSE_CODES.unauthenticated, reason: SESSION_ENDED_REASON };

t.test('logout, an admin revoke, disabling a user and a new role each close that user’s open feed at once', async (t) => {
  // A keepalive far away: what closes the sockets here is the route telling the feed.
  const server = await startLiveTestServer(t, { live: { pingIntervalMs: 3_600_000 } });
  const admin = { authorization: `Bearer ${await server.token('admin', ADMIN_PASSWORD)}` };
  const staff = async (username: string, role: 'manager' | 'finance') => {
    await insertOperator(server.context.db, { username, passwordHash: await hashPassword('password-123', scryptCost(server.context.config.passwordScryptLog2N)), role });
    return server.token(username, 'password-123');
  };
  const inject = (method: 'POST' | 'DELETE' | 'PATCH', url: string, headers: Record<string, string>, payload?: object) =>
    server.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });

  const first = await staff('warden', 'manager');
  const second = await server.token('warden', 'password-123');
  const loggedOut = open(server.wsUrl, first);
  const stays = open(server.wsUrl, second);
  const adminFeed = open(server.wsUrl, admin.authorization.slice(7));
  await Promise.all([loggedOut.opened, stays.opened, adminFeed.opened]);
  t.equal((await inject('POST', '/api/auth/logout', { authorization: `Bearer ${first}` })).statusCode, 204);
  t.same(await loggedOut.closed, ENDED, 'the logged-out session’s feed is closed with 4401');

  const { token: studentToken, username: student } = await server.student('A-101');
  const studentFeed = open(server.wsUrl, studentToken);
  await studentFeed.opened;
  t.equal((await inject('DELETE', `/api/users/${student}/sessions`, admin)).statusCode, 200);
  t.same(await studentFeed.closed, ENDED, 'an admin’s revoke closes the student’s feed');

  t.equal((await inject('PATCH', '/api/users/warden', admin, { disabled: true })).statusCode, 200);
  t.same(await stays.closed, ENDED, 'disabling the user closes their other session’s feed');

  const cashier = await staff('cashier', 'finance');
  const promoted = open(server.wsUrl, cashier);
  await promoted.opened;
  t.equal((await inject('PATCH', '/api/users/cashier', admin, { role: 'manager' })).statusCode, 200);
  t.same(await promoted.closed, ENDED, 'a new role: the feed closes, to be reopened with the new rights');

  t.equal(adminFeed.ws.readyState, WebSocket.OPEN, 'the admin’s own feed was never touched');
  t.same(
    server.app.liveWebSocketStats().clients.map((c) => c.operator),
    ['admin'],
    'only the admin’s client is left',
  );
  adminFeed.ws.close();
});

t.test('a session ended behind this process’s back is noticed at the next keepalive tick', async (t) => {
  const server = await startLiveTestServer(t, { live: { pingIntervalMs: 100 } });
  const token = await server.token('admin', ADMIN_PASSWORD);
  const feed = open(server.wsUrl, token);
  await feed.opened;
  await server.context.db.deleteFrom('sessions').execute(); // as another node's logout would
  t.same(await feed.closed, ENDED);
});
