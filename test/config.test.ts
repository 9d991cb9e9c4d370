import t from 'tap';
import { ConfigError, loadConfig } from '../src/config.ts';

t.test('config defaults and errors that name the variable', async (t) => {
  const config = loadConfig({});
  t.equal(config.port, 3000);
  t.equal(config.databaseUrl, undefined);
  t.equal(config.dataDir, './data');
  t.ok(Object.isFrozen(config));
  t.ok(config.webhookSecretGenerated);
  for (const [env, variable] of [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ MQTT_URL: 'not a url' }, 'MQTT_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ ADMIN_PASSWORD: 'short' }, 'ADMIN_PASSWORD'],
    [{ SIMULATE: 'maybe' }, 'SIMULATE'],
    [{ WEBHOOK_SECRET: 'tiny' }, 'WEBHOOK_SECRET'],
  ] as const) {
    t.throws(() => loadConfig(env), new ConfigError(variable, ''), variable);
    try {
      loadConfig(env);
    } catch (error) {
      t.match((error as Error).message, new RegExp(`^${variable}: `));
    }
  }
});
