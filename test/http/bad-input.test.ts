import pg from 'pg';
import t from 'tap';
import { sql } from 'kysely';
import { LedgerUnavailableError } from '../../src/errors.ts';
import { toClientError } from '../../src/http/error-handler.plugin.ts';
import { createTestApp } from '../helpers/test-app.ts';

interface Case {
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
  readonly payload?: unknown;
  readonly headers?: Record<string, string>;
  readonly anonymous?: boolean;
  readonly status: number;
  readonly code: string;
  readonly field?: string;
}

/** The reproductions of issue 9 ("Bad input is a 4xx, never a 500"), each once a 500 or Fastify's own body. */
const CASES: readonly Case[] = [
  { name: 'NUL in q', method: 'GET', url: '/api/dormitories?q=%00', status: 400, code: 'CONTROL_CHARACTER', field: 'q' },
  { name: 'NUL in building', method: 'GET', url: '/api/dormitories?building=A%00', status: 400, code: 'CONTROL_CHARACTER', field: 'building' },
  { name: 'NUL in state', method: 'GET', url: '/api/dormitories?state=%00', status: 400, code: 'CONTROL_CHARACTER', field: 'state' },
  { name: 'escape character in q', method: 'GET', url: '/api/dormitories?q=%1B%5B2J', status: 400, code: 'CONTROL_CHARACTER', field: 'q' },
  { name: 'NUL in a path id', method: 'GET', url: '/api/dormitories/A-101%00', status: 400, code: 'CONTROL_CHARACTER', field: 'id' },
  { name: 'NUL in a rule scope id', method: 'GET', url: '/api/rules/campus/%00', status: 400, code: 'CONTROL_CHARACTER', field: 'scopeId' },
  { name: 'NUL in a login username (anonymous)', method: 'POST', url: '/api/auth/login', payload: { username: 'admin\u0000', password: 'x' }, anonymous: true, status: 400, code: 'CONTROL_CHARACTER', field: 'username' },
  { name: 'NUL in a command reason', method: 'POST', url: '/api/dormitories/A-101/commands', payload: { circuit: 'all', action: 'cut', reason: 'a\u0000b' }, status: 400, code: 'CONTROL_CHARACTER', field: 'reason' },
  { name: 'control character in a nested rule config key', method: 'PUT', url: '/api/rules/campus/demo/lowCurrent', payload: { config: { 'en\u0007abled': true } }, status: 400, code: 'CONTROL_CHARACTER', field: 'config.en\u0007abled' },
  { name: 'page=1e18', method: 'GET', url: '/api/dormitories?page=1e18', status: 400, code: 'VALIDATION_FAILED', field: 'page' },
  { name: 'page=Infinity', method: 'GET', url: '/api/dormitories?page=Infinity', status: 400, code: 'VALIDATION_FAILED', field: 'page' },
  { name: 'ledger page=1e18', method: 'GET', url: '/api/dormitories/A-101/ledger?page=1e18', status: 400, code: 'VALIDATION_FAILED', field: 'page' },
  { name: 'alarms page=Infinity', method: 'GET', url: '/api/alarms?page=Infinity', status: 400, code: 'VALIDATION_FAILED', field: 'page' },
  { name: 'commands pageSize=1e18', method: 'GET', url: '/api/dormitories/A-101/commands?pageSize=1e18', status: 400, code: 'VALIDATION_FAILED', field: 'pageSize' },
  { name: 'a blank command reason (Cut all)', method: 'POST', url: '/api/dormitories/A-101/commands', payload: { circuit: 'all', action: 'cut', reason: '   ' }, status: 400, code: 'VALIDATION_FAILED', field: 'reason' },
  { name: 'alarm release without a reason', method: 'POST', url: '/api/alarms/1/release', payload: {}, status: 400, code: 'VALIDATION_FAILED', field: 'reason' },
  { name: 'alarm id 1e19', method: 'POST', url: '/api/alarms/1e19/release', status: 400, code: 'VALIDATION_FAILED', field: 'id' },
  { name: 'unknown buildingId on a gateway', method: 'POST', url: '/api/gateways', payload: { id: 'GW-X', campusId: 'demo', buildingId: 'nope', protocol: 'mqtt', address: 'GW-X' }, status: 422, code: 'REFERENCE_NOT_FOUND', field: 'buildingId' },
  { name: 'unknown quota id on a dormitory', method: 'POST', url: '/api/dormitories', payload: { id: 'Q-1', building: 'BA', floor: 1, room: 'q1', electricityQuotaId: 'nope' }, status: 422, code: 'REFERENCE_NOT_FOUND', field: 'electricityQuotaId' },
  { name: '%C0%AE in a path', method: 'GET', url: '/api/dormitories/%C0%AE', status: 400, code: 'BAD_URL', field: 'url' },
  { name: 'a 101-character path parameter', method: 'GET', url: `/api/dormitories/${'a'.repeat(101)}`, status: 414, code: 'URI_TOO_LONG', field: 'url' },
  { name: 'no such route', method: 'GET', url: '/api/nothing-here', status: 404, code: 'NOT_FOUND', field: 'url' },
  { name: 'unsupported media type', method: 'POST', url: '/api/auth/login', payload: '<a/>', headers: { 'content-type': 'application/xml' }, anonymous: true, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', field: 'content-type' },
  { name: 'malformed JSON', method: 'POST', url: '/api/auth/login', payload: '{"username":', headers: { 'content-type': 'application/json' }, anonymous: true, status: 400, code: 'MALFORMED_BODY', field: 'body' },
  { name: 'a body over the limit', method: 'POST', url: '/api/auth/login', payload: `{"username":"${'x'.repeat(1_100_000)}"}`, headers: { 'content-type': 'application/json' }, anonymous: true, status: 413, code: 'PAYLOAD_TOO_LARGE', field: 'body' },
];

t.test('bad input is a 4xx with the documented error body, never a 500', async (t) => {
  const { app, database, login } = await createTestApp(t);
  const admin = await login('admin', 'test-admin-password');
  const balances = () => database.db.selectFrom('accounts').select((eb) => eb.fn.sum<string>('balance').as('total')).executeTakeFirstOrThrow();
  const before = await balances();
  for (const c of CASES) {
    const response = await app.http.inject({
      method: c.method,
      url: c.url,
      headers: { ...(c.anonymous ? {} : admin), ...c.headers },
      ...(c.payload === undefined ? {} : { payload: c.payload as string }),
    });
    t.equal(response.statusCode, c.status, `${c.name}: ${c.status} (got ${response.body.slice(0, 160)})`);
    const body = response.json<{ error?: { code?: string; message?: string; field?: string } }>();
    t.equal(body.error?.code, c.code, `${c.name}: code ${c.code}`);
    t.equal(typeof body.error?.message, 'string', `${c.name}: has a message`);
    if (c.field) t.equal(body.error?.field, c.field, `${c.name}: names the field ${c.field}`);
    t.same(Object.keys(body), ['error'], `${c.name}: nothing but the error object (not Fastify's own body)`);
  }
  t.same(await balances(), before, 'no balance changed');
  t.equal(database.kind, process.env.DATABASE_URL ? 'postgres' : 'pglite', `ran on ${database.kind}`);
});

t.test('every database constraint and data error maps to a 4xx in one place', async (t) => {
  const { database } = await createTestApp(t);
  const db = database.db;
  const mapped = async (what: string, run: () => Promise<unknown>) => {
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(error, `${what}: the database refused it`);
    return toClientError(error);
  };
  const cases: [string, () => Promise<unknown>, number, string, string | undefined][] = [
    ['unique', () => db.insertInto('buildings').values({ id: 'BA', campus_id: 'demo', name: 'again' }).execute(), 409, 'ALREADY_EXISTS', 'id'],
    ['foreign key on write', () => db.insertInto('buildings').values({ id: 'BZ', campus_id: 'nowhere', name: 'z' }).execute(), 422, 'REFERENCE_NOT_FOUND', 'campusId'],
    ['foreign key on delete', () => db.deleteFrom('buildings').where('id', '=', 'BA').execute(), 409, 'STILL_REFERENCED', 'id'],
    ['check', () => db.insertInto('tariffs').values({ id: 'x', name: 'x', purse: 'gas' as 'water', definition: '{}' }).execute(), 400, 'VALIDATION_FAILED', undefined],
    ['not null', () => db.insertInto('buildings').values({ id: 'BY', campus_id: 'demo', name: null as unknown as string }).execute(), 400, 'VALIDATION_FAILED', 'name'],
    ['invalid text representation', () => sql`select ${'abc'}::bigint`.execute(db), 400, 'VALIDATION_FAILED', undefined],
    ['numeric out of range', () => sql`select ${'99999999999999999999'}::bigint`.execute(db), 400, 'VALUE_OUT_OF_RANGE', undefined],
    ['NUL in text', () => db.selectFrom('dormitories').select('id').where('id', '=', 'a\u0000').execute(), 400, 'VALIDATION_FAILED', undefined],
  ];
  for (const [what, run, status, code, field] of cases) {
    const client = await mapped(what, run);
    t.equal(client?.status, status, `${what}: ${status}`);
    t.equal(client?.body.error.code, code, `${what}: ${code}`);
    if (field) t.equal(client?.body.error.field, field, `${what}: names ${field}`);
    t.notMatch(client?.body.error.message ?? '', /insert|select|delete|\$1/i, `${what}: no SQL in the message`);
  }
  t.equal(toClientError(new Error('an unforeseen fault')), undefined, 'an error that is not the client\'s stays a 500');
  // A database that is away is no client's fault either, but the answer is to retry: 503 with Retry-After, not a 500.
  const refused = await new pg.Client({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 2000 }).connect().then(
    () => undefined,
    (e: unknown) => e,
  );
  const away = toClientError(refused);
  t.equal(away?.status, 503, 'a refused database connection is a 503');
  t.equal(away?.body.error.code, 'DATABASE_UNAVAILABLE', 'coded DATABASE_UNAVAILABLE');
  t.equal(away?.headers?.['retry-after'], '5', 'with Retry-After');
  // A ledger that could not commit what a request handed it (an operator's register decision during
  // an outage) is the same: a break-it attack saw 500 INTERNAL "ledger flush failed" there.
  const ledger = toClientError(new LedgerUnavailableError());
  t.equal(ledger?.status, 503, 'a ledger that could not commit is a 503');
  t.equal(ledger?.body.error.code, 'DATABASE_UNAVAILABLE');
  t.equal(ledger?.headers?.['retry-after'], '5');
  t.match(ledger?.body.error.message ?? '', /kept and written when the database answers/, 'saying what became of the request');
});
