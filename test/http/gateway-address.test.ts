import t from 'tap';
import { createTestApp } from '../helpers/test-app.ts';

/** Issue 9: a gateway address that cannot work is refused when it is written, naming the field. */
t.test('POST /api/gateways checks the address against the protocol', async (t) => {
  const test = await createTestApp(t);
  const admin = await test.login('admin', 'test-admin-password');
  const post = (payload: object) => test.app.http.inject({ method: 'POST', url: '/api/gateways', headers: admin, payload });
  const cases: [protocol: string, address: string, why: string][] = [
    ['modbus-tcp', 'simulator', 'the simulator does not run in this server'],
    ['mqtt', 'simulator', 'the simulator does not run in this server'],
    ['modbus-tcp', 'plc-1', 'no port'],
    ['modbus-tcp', 'plc-1:0', 'port 0'],
    ['modbus-tcp', 'plc-1:99999', 'port above 65535'],
    ['modbus-tcp', 'plc 1:502', 'a space in the host'],
    ['modbus-tcp', ':502', 'no host'],
    ['mqtt', 'campus/gw-1', 'a topic separator in the name'],
    ['mqtt', 'gw+1', 'a wildcard in the name'],
  ];
  for (const [protocol, address, why] of cases) {
    const response = await post({ id: 'GW-X', campusId: 'demo', protocol, address });
    t.equal(response.statusCode, 400, `${protocol} ${JSON.stringify(address)} refused: ${why}`);
    t.match(response.json(), { error: { code: 'VALIDATION_FAILED', field: 'address' } });
  }
  t.equal((await test.database.db.selectFrom('gateways').select('id').where('id', '=', 'GW-X').execute()).length, 0, 'nothing was written');
  const good = await post({ id: 'GW-OK', campusId: 'demo', protocol: 'modbus-tcp', address: '127.0.0.1:1' });
  t.equal(good.statusCode, 201, 'host:port is accepted');
  const v6 = await post({ id: 'GW-V6', campusId: 'demo', protocol: 'modbus-tcp', address: '[::1]:502' });
  t.equal(v6.statusCode, 201, 'a bracketed IPv6 address is accepted');
});
