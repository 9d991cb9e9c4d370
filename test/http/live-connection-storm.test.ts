import { randomBytes } from 'node:crypto';
import t from 'tap';
import { WebSocket } from 'ws';
import { insertOperator, insertSession } from '../../src/db/operator.repository.ts';
import { tokenHash } from '../../src/http/auth.plugin.ts';
import { startLiveTestServer } from '../helpers/live-test-server.ts';
import { ADMIN_PASSWORD } from '../helpers/test-app.ts';

/**
 * A connection storm on /ws/live: many upgrades at once, whose session lookups (an async
 * preValidation each) overlap. Every client with a valid token must get its snapshot and stay
 * open; a bad token in the same storm must still get 4401. (bench:e2e opens its live clients 50
 * at a time with one token.)
 */

interface Outcome {
  readonly snapshot: boolean;
  readonly close: { code: number; reason: string } | undefined;
}

/** Opens the client, resolves with whether its first frame was a snapshot, or with its close. */
function open(url: string, token: string): { ws: WebSocket; first: Promise<Outcome> } {
  const ws = new WebSocket(`${url}/ws/live`, ['campus-live', `bearer.${token}`]);
  ws.on('error', () => undefined);
  const first = new Promise<Outcome>((resolve) => {
    ws.once('message', (data) => resolve({ snapshot: (JSON.parse(String(data)) as { type: string }).type === 'snapshot', close: undefined }));
    ws.once('close', (code, reason) => resolve({ snapshot: false, close: { code, reason: reason.toString() } }));
  });
  return { ws, first };
}

/**
 * After every client has its first frame, a keepalive-free round trip (a ping each) proves the
 * sockets are still open, not closed just after the snapshot.
 */
async function stillOpen(sockets: readonly WebSocket[]): Promise<number> {
  const answered = await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<boolean>((resolve) => {
          if (ws.readyState !== WebSocket.OPEN) return resolve(false);
          ws.once('pong', () => resolve(true));
          ws.once('close', () => resolve(false));
          ws.ping();
        }),
    ),
  );
  return answered.filter(Boolean).length;
}

t.test('100 clients at once with the same token all get their snapshot and stay open', async (t) => {
  const server = await startLiveTestServer(t);
  const token = await server.token('admin', ADMIN_PASSWORD);
  const clients = Array.from({ length: 100 }, () => open(server.wsUrl, token));
  const outcomes = await Promise.all(clients.map((c) => c.first));
  t.same(
    outcomes.filter((o) => !o.snapshot).map((o) => o.close),
    [],
    'no client is closed before its snapshot',
  );
  t.equal(outcomes.filter((o) => o.snapshot).length, 100, 'every client got a snapshot');
  t.equal(await stillOpen(clients.map((c) => c.ws)), 100, 'every client still answers a ping');
  t.equal(server.app.liveWebSocketStats().clients.length, 100, 'the server holds 100 clients');
  t.ok(server.app.liveWebSocketStats().clients.every((c) => c.operator === 'admin'), 'every socket is held under the admin');
  for (const c of clients) c.ws.terminate();
});

t.test('50 operators at once, each with their own token, plus bad tokens in the same storm', async (t) => {
  const server = await startLiveTestServer(t);
  const db = server.context.db;
  const expiresAt = new Date(Date.now() + 3_600_000);
  const tokens: { username: string; token: string }[] = [];
  for (let i = 0; i < 50; i++) {
    const operator = await insertOperator(db, { username: `storm-${i}`, passwordHash: 'unused', role: i % 2 === 0 ? 'manager' : 'finance' });
    const token = randomBytes(32).toString('base64url');
    await insertSession(db, tokenHash(token), operator.id, expiresAt);
    tokens.push({ username: operator.username, token });
  }
  const clients = tokens.map(({ token }) => open(server.wsUrl, token));
  const impostors = Array.from({ length: 5 }, () => open(server.wsUrl, randomBytes(32).toString('base64url')));
  const outcomes = await Promise.all(clients.map((c) => c.first));
  t.same(
    outcomes.filter((o) => !o.snapshot).map((o) => o.close),
    [],
    'no client is closed before its snapshot',
  );
  t.equal(outcomes.filter((o) => o.snapshot).length, 50, 'every operator got a snapshot');
  for (const impostor of await Promise.all(impostors.map((c) => c.first))) {
    t.same(impostor, { snapshot: false, close: { code: 4401, reason: 'a valid session or display token is required' } }, 'an unknown token in the storm is closed with 4401');
  }
  t.equal(await stillOpen(clients.map((c) => c.ws)), 50, 'every operator still answers a ping');
  const held = server.app.liveWebSocketStats().clients.map((c) => c.operator).sort();
  t.same(held, tokens.map((x) => x.username).sort(), 'each socket is held under its own operator');
  for (const c of clients) c.ws.terminate();
});
