import t from 'tap';
import type { Role } from '../../src/db/database.ts';
import { fillPath, listOperations, MUTATING } from '../helpers/openapi-operations.ts';
import { createTestApp } from '../helpers/test-app.ts';

const ALL: readonly Role[] = ['admin', 'manager', 'finance', 'student'];
const STAFF: readonly Role[] = ['admin', 'manager', 'finance'];
const CONTROL: readonly Role[] = ['admin', 'manager'];
const MONEY: readonly Role[] = ['admin', 'finance'];

/**
 * Who may call what: the policy, written down once. Every route of the OpenAPI document must be
 * here (a new route fails this test until someone decides its roles), and must declare the same
 * roles in code (`requireRole`, seen as `x-roles` in the document). `public` routes are the only
 * ones an anonymous caller may reach; no mutating route is public but login.
 */
const POLICY: Readonly<Record<string, readonly Role[] | 'public'>> = {
  'POST /api/auth/login': 'public',
  'POST /api/auth/logout': ALL,
  'DELETE /api/users/{username}/sessions': ['admin'],
  'GET /health': 'public',
  'GET /api/metrics': 'public',
  'GET /api/dormitories': ALL,
  'POST /api/dormitories': CONTROL,
  'GET /api/dormitories/{id}': ALL,
  'DELETE /api/dormitories/{id}': CONTROL,
  'GET /api/dormitories/{id}/ledger': ALL,
  'POST /api/dormitories/{id}/recharges': MONEY,
  // Finance (issue 11): refunds and adjustments are money, like recharges.
  'POST /api/dormitories/{id}/refunds': MONEY,
  'POST /api/dormitories/{id}/adjustments': MONEY,
  'GET /api/reports/reconciliation': MONEY,
  // Consumption statistics: the control room reads them too (history charts).
  'GET /api/reports/usage': STAFF,
  'GET /api/reports/top-consumers': STAFF,
  'GET /api/reports/zero-use': STAFF,
  'GET /api/reports/arrears': MONEY,
  'GET /api/reports/bills': MONEY,
  // Journals: finance reads the money, the control room reads it too (it never credits it) and the alarm history.
  'GET /api/reports/journals/recharges': STAFF,
  'GET /api/reports/journals/refunds': STAFF,
  'GET /api/reports/journals/adjustments': STAFF,
  'GET /api/reports/journals/alarms': STAFF,
  // The audit log oversees every staff role and holds security records: admins only (docs/reports.md).
  'GET /api/audit': ['admin'],
  // Online recharge (docs/payments.md): a student pays for their own current dormitory.
  'POST /api/me/payments': ['student'],
  'GET /api/me/payments/{reference}': ['student'],
  // Asking the provider about a payment (a notification that never came) can credit it: finance and admins.
  'POST /api/payments/{reference}/query': ['finance', 'admin'],
  // Anonymous but signed: a provider has no session; its HMAC signature over the raw body, the
  // time window and the notification id are the authentication (test/http/payments.test.ts).
  'POST /api/payments/{provider}/webhook': 'public',
  // The sandbox provider's own pages (demo only; 404 unless PAYMENT_PROVIDERS has sandbox).
  'GET /api/payments/sandbox/pay/{reference}': 'public',
  'POST /api/payments/sandbox/pay/{reference}/confirm': 'public',
  'POST /api/dormitories/{id}/commands': CONTROL,
  'GET /api/dormitories/{id}/commands': ALL,
  'GET /api/alarms': STAFF,
  'GET /api/notifications': ALL,
  'GET /api/notifications/unread-count': ALL,
  'POST /api/notifications/{id}/read': ALL,
  'POST /api/notifications/read-all': ALL,
  'POST /api/alarms/{id}/release': CONTROL,
  'POST /api/alarms/{id}/acknowledge': CONTROL,
  'GET /api/rules/{scope}/{scopeId}': CONTROL,
  'PUT /api/rules/{scope}/{scopeId}/{rule}': CONTROL,
  'POST /api/dormitories/{id}/meters': CONTROL,
  'DELETE /api/dormitories/{id}/meters/{meterId}': CONTROL,
  'POST /api/gateways': CONTROL,
  'DELETE /api/gateways/{id}': CONTROL,
  'GET /api/gateways/{id}': STAFF,
  'POST /api/gateways/{id}/credentials': ['admin'],
  'DELETE /api/gateways/{id}/credentials': ['admin'],
  'GET /api/approvals': MONEY,
  'POST /api/approvals/{id}': MONEY,
  'GET /api/simulator': CONTROL,
  'POST /api/simulator/dormitories/{id}/appliances': CONTROL,
  'DELETE /api/simulator/dormitories/{id}/appliances/{applianceId}': CONTROL,
  'POST /api/simulator/dormitories/{id}/events': CONTROL,
  'POST /api/simulator/gateways/{id}/offline': CONTROL,
  'POST /api/simulator/gateways/{id}/online': CONTROL,
  'PUT /api/simulator/clock': CONTROL,
  // The office (issue 10): accounts are the admin's; occupancy is the logistics office's.
  'POST /api/users': ['admin'],
  'GET /api/users': ['admin'],
  'GET /api/users/{username}': ['admin'],
  'PATCH /api/users/{username}': ['admin'],
  'POST /api/users/{username}/password': ['admin'],
  'POST /api/auth/password': ALL,
  'POST /api/students': CONTROL,
  'GET /api/students': STAFF,
  'GET /api/students/{id}': ALL,
  'POST /api/dormitories/{id}/check-ins': CONTROL,
  'POST /api/students/{id}/check-out': CONTROL,
  'POST /api/students/{id}/exchange': CONTROL,
  'POST /api/students/{id}/swap': CONTROL,
  'GET /api/dormitories/{id}/occupancies': ALL,
  'GET /api/settlements': STAFF,
  // Held registers (issue 8): finance may read a meter's billing; operators resolve.
  'GET /api/meters/{id}/billing': STAFF,
  'POST /api/meters/{id}/register/resolve': CONTROL,
  'POST /api/meters/{id}/replacement': CONTROL,
  // Excel batches (issue 10): the logistics office.
  'POST /api/imports/check-ins': CONTROL,
  'POST /api/imports/exchanges': CONTROL,
  'POST /api/imports/check-outs': CONTROL,
  'GET /api/imports/check-ins/template.xlsx': CONTROL,
  'GET /api/imports/exchanges/template.xlsx': CONTROL,
  'GET /api/imports/check-outs/template.xlsx': CONTROL,
  'GET /api/jobs/{id}': CONTROL,
  // Tariffs (issue 10): staff read them; prices are finance's (and the admin's).
  'GET /api/tariffs': STAFF,
  'POST /api/tariffs': MONEY,
  'GET /api/tariffs/{id}': STAFF,
  'PUT /api/tariffs/{id}': MONEY,
  'POST /api/tariffs/{id}/assignments': MONEY,
  'POST /api/tariffs/{id}/dry-run': MONEY,
  'GET /api/quota-policies': STAFF,
  'POST /api/quota-policies': MONEY,
  'POST /api/quota-policies/{id}/assignments': MONEY,
  'POST /api/quota-policies/{id}/issue': MONEY,
  // Campuses and buildings (issue 10): campuses and their settings are the admin's; buildings the control room's.
  'GET /api/campuses': STAFF,
  'POST /api/campuses': ['admin'],
  'PATCH /api/campuses/{id}': ['admin'],
  'GET /api/campuses/{id}/settings': STAFF,
  'PATCH /api/campuses/{id}/settings': ['admin'],
  'GET /api/buildings': STAFF,
  'POST /api/buildings': CONTROL,
  'PATCH /api/buildings/{id}': CONTROL,
  // Wall displays (issue 12): a display token is a standing right to watch the campus; the admin's.
  'POST /api/display-tokens': ['admin'],
  'GET /api/display-tokens': ['admin'],
  'DELETE /api/display-tokens/{id}': ['admin'],
  // A student's own room by day (issue 12): the session names the room.
  'GET /api/me/usage': ['student'],
};
const PUBLIC_MUTATIONS = new Set(['POST /api/auth/login', 'POST /api/payments/{provider}/webhook', 'POST /api/payments/sandbox/pay/{reference}/confirm']);
/**
 * Routes a student may call for their own record only. The test's student lives in A-101 but has
 * no student record, so its id in the path is someone else's: the handler's ownership check
 * answers 403 there (test/http/occupancy.routes.test.ts proves a student reads their own).
 */
const STUDENT_OWN_RECORD_ONLY = new Set(['GET /api/students/{id}']);

t.test('every route refuses anonymous (401) and wrong-role (403) callers, as the policy says', async (t) => {
  // SIMULATE registers the simulator's routes too (the simulator itself is not started).
  const test = await createTestApp(t, { env: { SIMULATE: 'true' } });
  const operations = await listOperations(test.app.http);
  const sessions = new Map<Role, Record<string, string>>();
  const signIn = async (role: Role) => {
    const headers = await test.as(role, role === 'student' ? 'A-101' : undefined);
    sessions.set(role, headers);
    return headers;
  };
  for (const role of ALL) await signIn(role);

  const documented = new Set(operations.map((op) => `${op.method} ${op.path}`));
  for (const route of Object.keys(POLICY)) {
    if (!documented.has(route)) t.fail(`the policy lists ${route}, which the app does not have (remove it or document the route)`);
  }
  for (const op of operations) {
    const route = `${op.method} ${op.path}`;
    const policy = POLICY[route];
    if (policy === undefined) {
      t.fail(`${route} is not in the role policy of this test: decide who may call it`);
      continue;
    }
    if (policy === 'public') {
      t.equal(op.roles, undefined, `${route} is public and declares no roles`);
      t.ok(!MUTATING.has(op.method) || PUBLIC_MUTATIONS.has(route), `${route}: a public route that changes something must be on the short list`);
      continue;
    }
    t.same([...(op.roles ?? [])].sort(), [...policy].sort(), `${route} declares the roles of the policy`);
    // A dormitory id is the student's own, so a student's answer is about the role, not the room.
    const url = fillPath(op.path, Object.fromEntries(op.parameters.filter((p) => p.in === 'path').map((p) => [p.name, p.schema.type === 'integer' ? '1' : p.name === 'id' ? 'A-101' : 'x'])));
    const send = (headers: Record<string, string>) => test.app.http.inject({ method: op.method, url, headers, ...(op.body ? { payload: {} } : {}) });

    const anonymous = await send({});
    t.equal(anonymous.statusCode, 401, `${route}: anonymous gets 401`);
    t.equal(anonymous.json().error?.code, 'UNAUTHENTICATED', `${route}: anonymous is told to authenticate`);
    const forged = await send({ authorization: 'Bearer not-a-token' });
    t.equal(forged.statusCode, 401, `${route}: an unknown token gets 401`);
    for (const role of ALL) {
      const response = await send(sessions.get(role)!);
      if (policy.includes(role) && role === 'student' && STUDENT_OWN_RECORD_ONLY.has(route)) {
        t.equal(response.statusCode, 403, `${route}: a student is refused someone else's record`);
      } else if (policy.includes(role)) {
        t.notOk([401, 403].includes(response.statusCode), `${route}: ${role} is let through (${response.statusCode})`);
        if (response.statusCode < 300) await signIn(role); // e.g. logout ended that session
      } else {
        t.equal(response.statusCode, 403, `${route}: ${role} gets 403`);
        t.equal(response.json().error?.code, 'FORBIDDEN', `${route}: ${role} is told it is forbidden`);
      }
    }
  }
});

t.test('the role check runs before the body is read: a wrong-role caller learns nothing about the schema', async (t) => {
  const test = await createTestApp(t);
  const manager = await test.as('manager');
  const response = await test.app.http.inject({ method: 'POST', url: '/api/dormitories/A-101/recharges', headers: { ...manager, 'content-type': 'application/json' }, payload: '{not json' });
  t.equal(response.statusCode, 403, 'a manager sending malformed JSON to a finance route gets 403, not a parse error');
  const anonymous = await test.app.http.inject({ method: 'PUT', url: '/api/rules/campus/demo/lowCurrent', payload: { config: { enabled: 'x\u0000' } } });
  t.equal(anonymous.statusCode, 401, 'an anonymous caller with a bad body gets 401, not 400');
});
