import t from 'tap';
import { WebSocket } from 'ws';
import { DISPLAY_REVOKED_REASON, LIVE_CLOSE_CODES } from '../../src/http/live.websocket.ts';
import { fillPath, listOperations } from '../helpers/openapi-operations.ts';
import { startLiveTestServer } from '../helpers/live-test-server.ts';
import { ADMIN_PASSWORD, createTestApp } from '../helpers/test-app.ts';

/**
 * Wall display tokens (docs/websocket.md, "Wall displays"): an admin mints and revokes them; only
 * a hash is stored; a token opens the live feed read-only and is refused on every other route;
 * revoking closes the screen's feed at once.
 */

interface Feed {
  readonly ws: WebSocket;
  readonly first: Promise<{ type: string; scope?: string; dormitories?: { id: string }[]; display?: { name: string; timeZone: string; buildings: { id: string; name: string }[] } }>;
  readonly messages: { type: string; dormitories?: { id: string; state: string }[] }[];
  readonly closed: Promise<{ code: number; reason: string }>;
}

function openFeed(wsUrl: string, protocols: string[], query = ''): Feed {
  const ws = new WebSocket(`${wsUrl}/ws/live${query}`, protocols);
  ws.on('error', () => undefined);
  const messages: Feed['messages'] = [];
  const first = new Promise<Awaited<Feed['first']>>((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()))));
  ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return { ws, first, messages, closed };
}

t.test('an admin mints, lists and revokes display tokens; only a hash is stored', async (t) => {
  const server = await startLiveTestServer(t);
  const admin = { authorization: `Bearer ${await server.token('admin', ADMIN_PASSWORD)}` };
  const manager = await server.student('A-101');

  const minted = await server.app.inject({ method: 'POST', url: '/api/display-tokens', headers: admin, payload: { name: 'Lobby A' } });
  t.equal(minted.statusCode, 201, 'minted');
  t.equal(minted.headers['cache-control'], 'no-store', 'the one answer with the token is not cached');
  const body = minted.json<{ id: number; name: string; token: string; wallPath: string; revokedAt: null; issuedBy: string }>();
  t.match(body, { name: 'Lobby A', issuedBy: 'admin', revokedAt: null });
  t.match(body.token, /^wall_[A-Za-z0-9_-]{43}$/, '32 random bytes, recognisable as a wall token');
  t.equal(body.wallPath, `/wall#token=${body.token}`, 'the address for the screen carries the token in the fragment');

  const rows = await server.context.db.selectFrom('display_tokens').selectAll().execute();
  t.equal(rows.length, 1);
  t.match(rows[0]!.token_hash, /^sha256\$[0-9a-f]{64}$/, 'the stored hash');
  t.notOk(JSON.stringify(rows).includes(body.token), 'the token itself is nowhere in the table');
  const audit = await server.context.db.selectFrom('audit_log').select(['action', 'operator']).where('action', 'like', 'display_token.%').execute();
  t.same(audit, [{ action: 'display_token.mint', operator: 'admin' }], 'minting is audited');

  const list = await server.app.inject({ method: 'GET', url: '/api/display-tokens', headers: admin });
  t.equal(list.statusCode, 200);
  t.notOk(list.body.includes(body.token), 'the list never shows a token');
  t.notOk(list.body.includes('sha256$'), 'nor its hash');

  const asStudent = { authorization: `Bearer ${manager.token}` };
  t.equal((await server.app.inject({ method: 'POST', url: '/api/display-tokens', headers: asStudent, payload: { name: 'x' } })).statusCode, 403, 'only an admin mints');
  t.equal((await server.app.inject({ method: 'POST', url: '/api/display-tokens', headers: admin, payload: { name: '' } })).json<{ error: { field: string } }>().error.field, 'name', 'an empty name is a 400 naming the field');
  const missing = await server.app.inject({ method: 'DELETE', url: '/api/display-tokens/999', headers: admin });
  t.equal(missing.statusCode, 404);
  t.equal(missing.json<{ error: { code: string } }>().error.code, 'DISPLAY_TOKEN_NOT_FOUND');

  const revoked = await server.app.inject({ method: 'DELETE', url: `/api/display-tokens/${body.id}`, headers: admin });
  t.equal(revoked.statusCode, 200);
  t.match(revoked.json(), { id: body.id, revokedBy: 'admin' });
  t.type(revoked.json<{ revokedAt: string }>().revokedAt, 'string');
  const again = await server.app.inject({ method: 'DELETE', url: `/api/display-tokens/${body.id}`, headers: admin });
  t.equal(again.statusCode, 200, 'revoking twice answers the token as it stands');
  t.equal(again.json<{ revokedAt: string }>().revokedAt, revoked.json<{ revokedAt: string }>().revokedAt, 'and does not move the revocation time');
  const actions = (await server.context.db.selectFrom('audit_log').select('action').where('action', 'like', 'display_token.%').execute()).map((r) => r.action);
  t.same(actions, ['display_token.mint', 'display_token.revoke'], 'one revoke in the audit');
});

t.test('a display token watches the live feed read-only and is closed the moment it is revoked', async (t) => {
  const server = await startLiveTestServer(t, { live: { pingIntervalMs: 3_600_000 } });
  const token = await server.displayToken('Lobby');

  const wall = openFeed(server.wsUrl, ['campus-live', `display.${token}`]);
  const snapshot = await wall.first;
  t.equal(snapshot.type, 'snapshot');
  t.equal(snapshot.scope, 'campus');
  t.equal(snapshot.dormitories?.length, 200, 'the whole campus');
  t.same(snapshot.display?.buildings, [{ id: 'BA', name: 'Building A' }, { id: 'BB', name: 'Building B' }], 'building names come with the snapshot (the wall may call no REST)');
  t.equal(snapshot.display?.timeZone, 'Etc/GMT-8', 'and the campus time zone (the demo campus stores only its UTC+8 offset)');
  t.equal(snapshot.display?.name, 'Lobby');
  t.equal(wall.ws.protocol, 'campus-live');

  const building = openFeed(server.wsUrl, ['campus-live', `display.${token}`], '?building=BB');
  t.equal((await building.first).dormitories?.length, 100, 'a wall may watch one building');

  server.feed.update('A-105', { state: 'cut_manual' });
  await t.resolves(
    new Promise<void>((resolve) => wall.ws.on('message', (data) => JSON.parse(data.toString()).type === 'diff' && resolve())),
    'diffs follow',
  );
  t.same(server.app.liveWebSocketStats().clients.map((c) => c.operator).sort(), ['display:1', 'display:1'], 'the stats name the display, not a user');

  // A display token is not a session, and a session is not a display token.
  const asBearer = openFeed(server.wsUrl, ['campus-live', `bearer.${token}`]);
  t.equal((await asBearer.closed).code, LIVE_CLOSE_CODES.unauthenticated, 'a display token offered as a bearer token is refused');
  const adminToken = await server.token('admin', ADMIN_PASSWORD);
  const sessionAsDisplay = openFeed(server.wsUrl, ['campus-live', `display.${adminToken}`]);
  t.equal((await sessionAsDisplay.closed).code, LIVE_CLOSE_CODES.unauthenticated, 'a session token offered as a display token is refused');
  const forged = openFeed(server.wsUrl, ['campus-live', `display.wall_${'A'.repeat(43)}`]);
  t.equal((await forged.closed).code, LIVE_CLOSE_CODES.unauthenticated, 'an unknown display token is refused');

  const [{ id }] = (await (await fetch(`${server.url}/api/display-tokens`, { headers: { authorization: `Bearer ${adminToken}` } })).json()).items as { id: number }[];
  await fetch(`${server.url}/api/display-tokens/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
  t.same(await wall.closed, { code: LIVE_CLOSE_CODES.unauthenticated, reason: DISPLAY_REVOKED_REASON }, 'revoking closes the open wall at once (the keepalive is an hour away)');
  t.same(await building.closed, { code: LIVE_CLOSE_CODES.unauthenticated, reason: DISPLAY_REVOKED_REASON }, 'every screen of that token');
  const after = openFeed(server.wsUrl, ['campus-live', `display.${token}`]);
  t.equal((await after.closed).code, LIVE_CLOSE_CODES.unauthenticated, 'a revoked token opens nothing');
});

t.test('a display token gets nothing on any REST route that an anonymous caller would not get', async (t) => {
  const test = await createTestApp(t, { env: { SIMULATE: 'true' } });
  const admin = await test.login('admin', ADMIN_PASSWORD);
  const minted = await test.app.http.inject({ method: 'POST', url: '/api/display-tokens', headers: admin, payload: { name: 'wall' } });
  const display = { authorization: `Bearer ${minted.json<{ token: string }>().token}` };
  const operations = await listOperations(test.app.http);
  t.ok(operations.length > 60, `every documented route is walked (${operations.length})`);
  let guarded = 0;
  for (const op of operations) {
    const url = fillPath(op.path, { id: '1', username: 'admin', reference: 'x', provider: 'sandbox', scope: 'dormitory', scopeId: 'A-101', rule: 'x', meterId: 'x', applianceId: '1' });
    const payload = op.body ? {} : undefined;
    const withToken = await test.app.http.inject({ method: op.method, url, headers: display, ...(payload ? { payload } : {}) });
    if (op.roles) {
      guarded++;
      t.equal(withToken.statusCode, 401, `${op.method} ${op.path}: 401 with a display token`);
    } else {
      const anonymous = await test.app.http.inject({ method: op.method, url, ...(payload ? { payload } : {}) });
      t.equal(withToken.statusCode, anonymous.statusCode, `${op.method} ${op.path} (public): the same answer as without a token`);
    }
  }
  t.ok(guarded > 60, `${guarded} guarded routes refused it`);
});
