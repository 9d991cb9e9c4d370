import t from 'tap';
import { loadConfig } from '../src/config.ts';
import { createLogger, redactSecrets } from '../src/logger.ts';
import { createTestApp } from './helpers/test-app.ts';

/** A pino destination that keeps every line. */
function capture(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

const MQTT_URL = 'mqtt://gateway-user:Br0ker-Secret@broker.campus.example:1883';

t.test('URL credentials, token parameters and configured secrets never reach a log line, at any level', async (t) => {
  const config = loadConfig({ LOG_LEVEL: 'trace', MQTT_URL, ADMIN_PASSWORD: 'Operator-Chosen-Pw', METRICS_TOKEN: 'metrics-token-0123456789' });
  const out = capture();
  const log = createLogger(config, out);
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
  for (const level of levels) {
    log[level]({ url: config.mqttUrl, req: { url: '/ws/live?token=SessionTok3n&building=BA', headers: { authorization: 'Bearer SessionTok3n' } } }, `connecting to ${config.mqttUrl}`);
    log[level]({ err: new Error(`connect ECONNREFUSED ${MQTT_URL}`) }, 'broker down');
    log[level]({ password: 'Operator-Chosen-Pw', nested: { token: 'SessionTok3n' } }, `admin password is Operator-Chosen-Pw, metrics metrics-token-0123456789`);
  }
  t.equal(out.lines.length, levels.length * 3, 'every line was written');
  const all = out.lines.join('');
  for (const secret of ['Br0ker-Secret', 'gateway-user', 'SessionTok3n', 'Operator-Chosen-Pw', 'metrics-token-0123456789']) {
    t.notOk(all.includes(secret), `${secret} appears in no line`);
  }
  t.ok(all.includes('mqtt://[REDACTED]@broker.campus.example:1883'), 'the broker host stays readable');
  t.ok(all.includes('token=[REDACTED]&building=BA'), 'the rest of the query stays readable');
});

t.test('redactSecrets leaves ordinary text alone', async (t) => {
  t.equal(redactSecrets('{"msg":"listening on http://127.0.0.1:3000/api?page=2"}'), '{"msg":"listening on http://127.0.0.1:3000/api?page=2"}', 'no secret, no change');
  t.equal(redactSecrets('postgres://campus:pw@db:5432/campus'), 'postgres://[REDACTED]@db:5432/campus', 'a database URL too');
  t.equal(redactSecrets('a "quoted\\" secret"', ['quoted" secret']), 'a "[REDACTED]"', 'a secret is found in its JSON-escaped form');
});

t.test('the app at trace level logs request URLs without their ?token=', async (t) => {
  const out = capture();
  const config = loadConfig({ LOG_LEVEL: 'trace' });
  const { app } = await createTestApp(t, { env: { LOG_LEVEL: 'trace' }, logger: createLogger(config, out) });
  await app.http.inject({ method: 'GET', url: '/ws/live?token=Upgrade-Token-42&building=BA' });
  await app.http.inject({ method: 'GET', url: '/api/dormitories?token=Query-Token-43' });
  const all = out.lines.join('');
  t.ok(all.includes('/ws/live?token=[REDACTED]'), 'the request line is logged, with the token blanked');
  t.notOk(all.includes('Upgrade-Token-42') || all.includes('Query-Token-43'), 'no token value in the log');
});
