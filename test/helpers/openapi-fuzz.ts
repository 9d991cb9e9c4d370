import fc from 'fast-check';
import type { Test } from 'tap';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../src/db/database.ts';
import { tokenHash } from '../../src/http/auth.plugin.ts';
import { seedDemoCampus } from '../../src/services/demo-campus.seed.ts';
import { fillPath, listOperations, MUTATING, type JsonSchema, type Operation } from './openapi-operations.ts';
import { createTestApp } from './test-app.ts';

/**
 * Fuzzes the operations of the OpenAPI document (a new route is fuzzed without anyone asking)
 * with fast-check path values, query strings and bodies, some shaped by the route's schema (to
 * get past validation) and some hostile. Holds: no response is a 5xx, every error has the
 * documented body, and a rejected request never moves money. Two test files share the
 * operations (reads, writes), so each stays within a file's time budget.
 * FUZZ_RUNS (cases per file, default 1000) and FUZZ_SEED change the run.
 */
const RUNS_PER_FILE = Number(process.env.FUZZ_RUNS ?? 1000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261130);

const KNOWN_IDS = ['A-101', 'A-102', 'A-103', 'BA', 'demo', 'tou-residential', 'student-10kwh', 'admin', 'finance-1', '1', '2'];
const HOSTILE_TEXT = ['', ' ', '\u0000', 'a\u0000b', '\u001b[2J', '\u007f', '\u0085', '\r\n', '%00', '..', '../../etc/passwd', "' or 1=1 --", '1e19', '1e18', 'Infinity', '-Infinity', 'NaN', '-1', '0', '9'.repeat(30), '😀', '\ud800', 'a'.repeat(101), 'a'.repeat(5000)];
const HOSTILE_NUMBERS = [0, -1, 1.5, -0.5, 1e19, 2 ** 53, -(2 ** 53), 1e308, Number.MAX_SAFE_INTEGER, 2_147_483_648];

const hostileText = fc.oneof({ weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) }, { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_TEXT) }, { weight: 1, arbitrary: fc.string({ maxLength: 24 }) });
const plausibleText = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...KNOWN_IDS) }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/) });
const anyJson = fc.jsonValue({ maxDepth: 3 });

/** A day or an instant of 2026 for a string the schema shapes as one (reports' ranges), so plausible input passes validation. */
const someDay = fc.date({ min: new Date('2026-01-01T00:00:00Z'), max: new Date('2026-12-31T00:00:00Z'), noInvalidDate: true });
const DAY_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';
function plausibleShapedText(schema: JsonSchema): fc.Arbitrary<string> | undefined {
  if (schema.format === 'date-time') return someDay.map((d) => d.toISOString());
  if (schema.pattern === DAY_PATTERN) return someDay.map((d) => d.toISOString().slice(0, 10));
  return undefined;
}

/**
 * Values for a schema. Plausible: what the schema allows (known ids, numbers in range), to get
 * past validation into the handler and the database. Hostile: anything, with the edge cases
 * from the issue (control characters, 1e19, Infinity, over-long text) weighted in.
 */
function valueFor(schema: JsonSchema | undefined, plausible: boolean, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return plausible ? fc.constant({}) : anyJson;
  const members = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  let shaped: fc.Arbitrary<unknown>;
  if (schema.const !== undefined) shaped = fc.constant(schema.const);
  else if (Array.isArray(schema.enum)) shaped = fc.constantFrom(...(schema.enum as unknown[]));
  else if (members) shaped = fc.oneof(...members.map((m) => valueFor(m, plausible, depth + 1)));
  else if (schema.type === 'integer' || schema.type === 'number') {
    const min = typeof schema.minimum === 'number' ? Math.max(schema.minimum, -1e9) : -1e6;
    const max = typeof schema.maximum === 'number' ? Math.min(schema.maximum, 1e9) : 1e6;
    const inRange = fc.integer({ min: Math.ceil(min), max: Math.max(Math.ceil(min), Math.floor(max)) });
    shaped = plausible ? fc.oneof(inRange, fc.constant(Math.max(Math.ceil(min), 1))) : fc.oneof(inRange, fc.constantFrom(...HOSTILE_NUMBERS));
  } else if (schema.type === 'string') shaped = plausible ? (plausibleShapedText(schema) ?? plausibleText) : fc.oneof(hostileText, plausibleText);
  else if (schema.type === 'boolean') shaped = fc.boolean();
  else if (schema.type === 'array') shaped = fc.array(valueFor(schema.items as JsonSchema | undefined, plausible, depth + 1), { maxLength: 4 });
  else if (schema.type === 'object' || schema.properties) {
    const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
    const record = fc.record(Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, valueFor(s, plausible, depth + 1)])), { requiredKeys: (schema.required as string[] | undefined) ?? [] });
    shaped = plausible ? record : fc.oneof({ weight: 3, arbitrary: record }, { weight: 1, arbitrary: fc.tuple(record, hostileText, anyJson).map(([r, k, v]) => ({ ...(r as object), [k]: v })) });
  } else shaped = plausible ? fc.constant({}) : anyJson;
  return plausible ? shaped : fc.oneof({ weight: 3, arbitrary: shaped }, { weight: 1, arbitrary: fc.oneof(hostileText, fc.constantFrom(...HOSTILE_NUMBERS), anyJson) });
}

/** A path segment: encoded text, or (hostile) a raw escape the router must survive. */
const encode = (value: unknown): string => {
  try {
    return encodeURIComponent(String(value));
  } catch {
    return '%ED%A0%80'; // a lone surrogate, as the bytes a client could send
  }
};
const pathValue = (schema: JsonSchema, plausible: boolean) =>
  plausible ? valueFor(schema, true).map(encode) : fc.oneof({ weight: 6, arbitrary: valueFor(schema, false).map(encode) }, { weight: 1, arbitrary: fc.constantFrom('%C0%AE', '%00', '..%2F..', '%E0%80', '%', 'a'.repeat(101)) });

type Caller = 'admin' | 'manager' | 'finance' | 'student' | 'anonymous';

function requestFor(op: Operation, plausible: boolean) {
  const path = op.parameters.filter((p) => p.in === 'path');
  const query = op.parameters.filter((p) => p.in === 'query');
  return fc.record({
    plausible: fc.constant(plausible),
    caller: plausible ? fc.constantFrom<Caller>('admin', 'admin', 'manager', 'finance') : fc.constantFrom<Caller>('admin', 'admin', 'manager', 'finance', 'student', 'anonymous'),
    path: fc.record(Object.fromEntries(path.map((p) => [p.name, pathValue(p.schema, plausible)]))),
    query: fc.record(Object.fromEntries(query.map((p) => [p.name, valueFor(p.schema, plausible)])), { requiredKeys: [] }),
    extraQuery: plausible
      ? fc.constant(undefined)
      : fc.option(fc.constantFrom('page=1e18', 'page=Infinity', 'pageSize=-1', 'token=abc', 'x=%00', '%C0%AE=1', 'page=1&page=2', 'q=%ZZ'), { nil: undefined }),
    body: op.body
      ? plausible
        ? valueFor(op.body, true).map((v) => ({ json: v }))
        : fc.oneof({ weight: 8, arbitrary: valueFor(op.body, false).map((v) => ({ json: v })) }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((raw) => ({ raw })) })
      : plausible
        ? fc.constant(undefined)
        : fc.option(anyJson.map((v) => ({ json: v })), { nil: undefined }),
  });
}

async function moneyTotals(db: Kysely<Database>): Promise<string> {
  const row = await sql<Record<string, string>>`select
      (select coalesce(sum(balance), 0) from accounts) as balances,
      (select count(*) from accounts) as accounts,
      (select coalesce(sum(amount), 0) from ledger_entries) as ledger,
      (select count(*) from ledger_entries) as entries,
      (select count(*) from recharges) as recharges`.execute(db);
  return JSON.stringify(row.rows[0]);
}

export async function fuzzOperations(t: Test, which: (op: Operation) => boolean): Promise<void> {
  const test = await createTestApp(t, { seedDemo: false });
  const { app, database } = test;
  const db = database.db;
  // A small campus whose actors run without drivers: dormitories and accounts, no meters.
  await seedDemoCampus(db, new Date(), { buildings: 1, floors: 1, roomsPerFloor: 3, occupantsPerRoom: 1 });
  await db.deleteFrom('circuits').execute();
  await db.deleteFrom('meters').execute();
  await db.deleteFrom('gateways').execute();
  await app.runtime.start();
  try {
    const signIn: Record<Exclude<Caller, 'anonymous'>, () => Promise<{ authorization: string }>> = {
      // An admin of its own, not `admin`: the fuzz may disable or reset the `admin` account it targets.
      admin: () => test.as('admin'),
      manager: () => test.as('manager'),
      finance: () => test.as('finance'),
      student: () => test.as('student', 'A-101'),
    };
    const headers: Record<Caller, Record<string, string>> = { admin: await signIn.admin(), manager: await signIn.manager(), finance: await signIn.finance(), student: await signIn.student(), anonymous: {} };
    // The fuzz may log a caller out (logout, session revocation): sign them in again.
    const keepSignedIn = async () => {
      for (const caller of ['admin', 'manager', 'finance', 'student'] as const) {
        const hash = tokenHash(headers[caller].authorization!.slice('Bearer '.length));
        if (!(await db.selectFrom('sessions').select('token_hash').where('token_hash', '=', hash).executeTakeFirst())) headers[caller] = await signIn[caller]();
      }
    };
    let money = await moneyTotals(db);
    const all = await listOperations(app.http);
    t.ok(all.length >= 15, `the document lists the routes (${all.length})`);
    const operations = all.filter(which);
    const runsEach = Math.max(20, Math.ceil(RUNS_PER_FILE / operations.length));
    let cases = 0;
    const statuses = new Map<string, Set<string>>();
    /** Codes that mean the request stopped before the route's own logic. */
    const STOPPED_AT_THE_EDGE = new Set(['VALIDATION_FAILED', 'CONTROL_CHARACTER', 'UNAUTHENTICATED', 'FORBIDDEN', 'URI_TOO_LONG', 'BAD_URL', 'MALFORMED_BODY']);
    for (const op of operations) {
      const seen = new Set<string>();
      statuses.set(`${op.method} ${op.path}`, seen);
      await fc.assert(
        fc.asyncProperty(fc.oneof(requestFor(op, true), requestFor(op, false)), async (input) => {
          cases++;
          const query = new URLSearchParams(Object.entries(input.query).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, String(x)]) : [[k, typeof v === 'object' ? JSON.stringify(v) : String(v)]]))).toString();
          const url = fillPath(op.path, input.path as Record<string, string>) + (query || input.extraQuery ? `?${[query, input.extraQuery].filter(Boolean).join('&')}` : '');
          const body = input.body;
          const response = await app.http.inject({
            method: op.method,
            url,
            headers: { ...headers[input.caller], ...(body ? { 'content-type': 'application/json' } : {}) },
            ...(body ? { payload: 'raw' in body ? body.raw : JSON.stringify(body.json) } : {}),
          });
          const code = response.statusCode >= 400 ? String(response.json<{ error?: { code?: unknown } }>().error?.code) : '';
          seen.add(`${response.statusCode}${code ? ` ${code}` : ''}`);
          const where = `${op.method} ${url} as ${input.caller}${input.plausible ? '' : ' (hostile)'} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
          if (response.statusCode >= 500) throw new Error(`server error: ${where}`);
          if (response.statusCode >= 400) {
            const error = response.json<{ error?: { code?: unknown; message?: unknown } }>().error;
            if (typeof error?.code !== 'string' || typeof error.message !== 'string') throw new Error(`undocumented error body: ${where}`);
          }
          if (!MUTATING.has(op.method)) return;
          const after = await moneyTotals(db);
          const moved = after !== money;
          money = after;
          if (moved && response.statusCode >= 400) throw new Error(`a rejected request moved money: ${where}`);
          if (response.statusCode < 300) await keepSignedIn();
        }),
        { numRuns: runsEach, seed: SEED, endOnFailure: true },
      );
    }
    t.ok(cases >= RUNS_PER_FILE, `${cases} cases over ${operations.length} operations (seed ${SEED})`);
    const reached = [...statuses].filter(([, s]) => [...s].some((status) => Number(status.slice(0, 3)) < 300 || !STOPPED_AT_THE_EDGE.has(status.slice(4))));
    t.ok(reached.length >= operations.length * 0.8, `plausible input got past validation into the route on ${reached.length} of ${operations.length} operations`);
    t.comment([...statuses].map(([op, s]) => `${op}: ${[...s].sort().join(', ')}`).join('\n'));
  } finally {
    await app.runtime.stop();
  }
}
