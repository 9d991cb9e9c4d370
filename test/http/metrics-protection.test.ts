import t from 'tap';
import { createTestApp } from '../helpers/test-app.ts';

const TOKEN = 'prometheus-scrape-token-1';

t.test('METRICS_TOKEN: /api/metrics needs the bearer token', async (t) => {
  const { app } = await createTestApp(t, { env: { METRICS_TOKEN: TOKEN } });
  const anonymous = await app.http.inject({ method: 'GET', url: '/api/metrics' });
  t.equal(anonymous.statusCode, 401, 'no token: 401');
  t.equal(anonymous.json().error.code, 'UNAUTHENTICATED');
  t.equal((await app.http.inject({ method: 'GET', url: '/api/metrics', headers: { authorization: 'Bearer wrong-token-000000' } })).statusCode, 401, 'a wrong token: 401');
  const scrape = await app.http.inject({ method: 'GET', url: '/api/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(scrape.statusCode, 200, 'the token: 200');
  t.match(scrape.body, /campus_/, 'Prometheus text');
});

t.test('without METRICS_TOKEN the endpoint stays open (backwards compatible)', async (t) => {
  const { app } = await createTestApp(t);
  t.equal((await app.http.inject({ method: 'GET', url: '/api/metrics' })).statusCode, 200);
});

t.test('METRICS_PORT: metrics move to their own listener; the API port no longer serves them', async (t) => {
  const { app } = await createTestApp(t, { env: { METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', METRICS_TOKEN: TOKEN } });
  t.equal((await app.http.inject({ method: 'GET', url: '/api/metrics' })).statusCode, 404, 'not on the API port');
  const server = app.metricsHttp;
  t.ok(server, 'a metrics server was built');
  const address = await server!.listen({ port: 0, host: '127.0.0.1' });
  const refused = await fetch(`${address}/metrics`);
  t.equal(refused.status, 401, 'the separate listener checks the token too');
  const scraped = await fetch(`${address}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(scraped.status, 200, 'Prometheus scrapes it on its own address');
  t.match(await scraped.text(), /campus_/);
  t.equal((await fetch(`${address}/api/dormitories`)).status, 404, 'and nothing of the API is there');
});
