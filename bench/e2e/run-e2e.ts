import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { bucketPercentile, histogramDelta } from '../metric-reader.ts';
import { distribution, round, sleep } from '../stats.ts';
import type { FromGenerator, GeneratorReport, ToGenerator } from './generator-protocol.ts';
import type { FromLiveClients, LiveClientsReport, ToLiveClients } from './live-clients-protocol.ts';
import { UsageMeter, startServer, type ServerProcess } from './processes.ts';
import { buildingIdsFor, createCampusOverRest, RestClient, seedRooms } from './rest-campus.ts';
import { Scrape } from './scrape.ts';

/**
 * `npm run bench:e2e -- --meters 5000` (docs/benchmarks.md): the system measured from outside,
 * the way a campus runs it. A fresh database (PostgreSQL at DATABASE_URL: a new database, dropped
 * after; else PGlite in a temporary DATA_DIR), the real server process (`campus-prepaid serve`),
 * a real broker (MQTT_URL, else the server's embedded one, with issued gateway credentials), the
 * campus created over REST, and a load generator in its own process following docs/mqtt.md.
 * Phases: connect until every meter is online; a steady window with latency probes (publish ->
 * cut command seen on the broker); a restart under load (SIGTERM, shutdown time, boot until every
 * meter is online again, rejections at boot); a short window after it. CPU and RSS of each process
 * are sampled every second. Writes bench-results/e2e-<meters>.json.
 */

const SIZES = [5_000, 10_000, 20_000, 40_000] as const;
const ADMIN_PASSWORD = 'e2e-admin-password';

const { values: args } = parseArgs({
  options: {
    meters: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '60' },
    'after-restart-seconds': { type: 'string', default: '20' },
    'meters-per-gateway': { type: 'string', default: '200' },
    probes: { type: 'string', default: '40' },
    'no-restart': { type: 'boolean', default: false },
    rooms: { type: 'string', default: 'rest' },
    'cpu-prof': { type: 'boolean', default: false },
    'ws-clients': { type: 'string', default: '0' },
    'ws-scope': { type: 'string', default: 'campus' },
    'ws-format': { type: 'string', default: 'full' },
    'node-flags': { type: 'string', default: '' },
    'server-bin': { type: 'string', default: 'bin/campus-prepaid.js' },
  },
});

const meters = Number(args.meters);
// The planned sizes are SIZES; any other count runs too (a quick check while developing).
if (!Number.isSafeInteger(meters) || meters < 1) throw new Error(`--meters must be a positive integer (planned sizes: ${SIZES.join(', ')})`);
const steadySeconds = Number(args.seconds);
const afterRestartSeconds = Number(args['after-restart-seconds']);
const metersPerGateway = Number(args['meters-per-gateway']);
const probeCount = Number(args.probes);
const restart = !args['no-restart'];
const ROOMS = ['rest', 'rest-per-meter', 'seed'] as const;
const roomsBy = ROOMS.find((r) => r === args.rooms);
if (!roomsBy) throw new Error(`--rooms must be one of ${ROOMS.join(', ')}`);
const wsClients = Number(args['ws-clients']);
if (!Number.isSafeInteger(wsClients) || wsClients < 0) throw new Error('--ws-clients must be a whole number (0: none)');
const wsScope = args['ws-scope'];
/** `dist/bin/campus-prepaid.js` after `npm run build`: the compiled server, as in production. */
const serverBin = args['server-bin'];
if (wsScope !== 'campus' && wsScope !== 'building') throw new Error('--ws-scope must be campus or building');
const wsFormat = args['ws-format'] as 'full' | 'delta';
if (wsFormat !== 'full' && wsFormat !== 'delta') throw new Error('--ws-format must be full or delta');

const loadAverage = () => loadavg().map((x) => round(x, 2));
const log = (line: string) => console.log(`[e2e ${new Date().toISOString().slice(11, 19)}] ${line}`);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A fresh database: a new PostgreSQL database next to DATABASE_URL's, or a PGlite DATA_DIR. */
async function freshDatabase(): Promise<{ env: Record<string, string>; drop: () => Promise<void>; kind: string }> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const name = `e2e_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const own = new URL(url);
    own.pathname = `/${name}`;
    return {
      kind: 'PostgreSQL',
      env: { DATABASE_URL: own.toString() },
      drop: async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        await client.query(`drop database if exists ${name} with (force)`);
        await client.end();
      },
    };
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'campus-e2e-'));
  return { kind: 'PGlite', env: { DATA_DIR: dataDir }, drop: () => rm(dataDir, { recursive: true, force: true }) };
}

/** A bench process of its own (`fork`, IPC): every request answered by one message, in order. */
class Forked<To extends { readonly type: string }, From> {
  private readonly child;
  private waiting: { resolve: (message: From) => void; reject: (error: Error) => void }[] = [];
  private exited: Error | undefined;
  readonly pid;

  constructor(script: string) {
    this.child = fork(path.join(import.meta.dirname, script), [], { execArgv: ['--import=tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.pid = this.child.pid;
    this.child.on('message', (message) => {
      const waiter = this.waiting.shift();
      waiter?.resolve(message as From);
    });
    // A process that dies (or never starts: a missing script) answers nothing: its questions fail,
    // and the bench's cleanup stops the server instead of waiting forever beside it.
    this.child.on('exit', (code, signal) => {
      this.exited = new Error(`${script} exited (${signal ?? code}) before answering`);
      for (const waiter of this.waiting.splice(0)) waiter.reject(this.exited);
    });
  }

  send(message: To): void {
    this.child.send(message);
  }

  async ask<T extends From>(message: To): Promise<T> {
    if (this.exited) throw this.exited;
    const answer = new Promise<From>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.send(message);
    return (await answer) as T;
  }

  async stop(message: To): Promise<void> {
    await Promise.race([this.ask(message), sleep(10_000)]);
    this.child.kill();
  }
}

class Generator extends Forked<ToGenerator, FromGenerator> {
  constructor() {
    super('generator.ts');
  }

  report(): Promise<GeneratorReport> {
    return this.ask<GeneratorReport>({ type: 'report' });
  }
}

/** `--ws-clients N`: N live-feed clients and one stalled client (bench/e2e/live-clients.ts). */
class LiveClients extends Forked<ToLiveClients, FromLiveClients> {
  constructor() {
    super('live-clients.ts');
  }

  report(): Promise<LiveClientsReport> {
    return this.ask<LiveClientsReport>({ type: 'report' });
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const database = await freshDatabase();
  const port = await freePort();
  const topicPrefix = `e2e${randomBytes(3).toString('hex')}/campus`;
  const profileDir = path.resolve('bench-results', 'profiles');
  if (args['cpu-prof']) await mkdir(profileDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...database.env,
    ...(process.env.MQTT_URL ? { MQTT_URL: process.env.MQTT_URL } : {}),
    MQTT_TOPIC_PREFIX: topicPrefix,
    PORT: String(port),
    HOST: '127.0.0.1',
    ADMIN_PASSWORD,
    LOG_LEVEL: 'info',
    ACTOR_QUERY_TIMEOUT_MS: '10000',
  };
  // Extra V8 / node flags for the server (`--node-flags "--max-semi-space-size=64"`), recorded in setup.
  const serverFlags = args['node-flags'].split(/\s+/).filter(Boolean);
  if (serverFlags.some((flag) => !flag.startsWith('--'))) throw new Error(`--node-flags takes node options (each starting with --), got ${args['node-flags']}`);
  const nodeArgs = [...serverFlags, ...(args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const report: Record<string, unknown> = {
    kind: 'campus-prepaid bench:e2e',
    startedAt: new Date().toISOString(),
    machine: { cores: cpus().length, node: process.version, loadAverageAtStart: loadAverage() },
    setup: { meters, metersPerGateway, gateways: Math.ceil(meters / metersPerGateway), metersPerMessage: 32, publishIntervalMs: 1000, database: database.kind, broker: process.env.MQTT_URL ? 'MQTT_URL' : 'embedded', serverNodeFlags: serverFlags, serverBin },
  };
  let server: ServerProcess | undefined = startServer(env, nodeArgs, serverBin);
  let generator: Generator | undefined;
  const serverUsage = new UsageMeter(() => server?.child.pid);
  let generatorUsage: UsageMeter | undefined;
  let liveUsage: UsageMeter | undefined;
  const sampler = setInterval(() => void Promise.all([serverUsage.sample(), generatorUsage?.sample(), liveUsage?.sample()]), 1000);
  try {
    let url = await Promise.race([server.listening, server.exited.then((code) => Promise.reject(new Error(`server exited (${code}): ${server?.notable.join(' | ')}`)))]);
    let api = new RestClient(url);
    await api.login('admin', ADMIN_PASSWORD);
    log(`server at ${url} on ${database.kind}; creating ${meters} meters (rooms by ${roomsBy})`);
    const campus = await createCampusOverRest(api, meters, metersPerGateway, probeCount + (restart ? 10 : 0), roomsBy === 'seed' ? 'later' : roomsBy);
    report.campusOverRest = {
      rooms: roomsBy,
      restCalls: campus.restCalls,
      seconds: campus.seconds,
      callsPerSecond: round(campus.restCalls / campus.seconds),
      ...(roomsBy === 'seed' ? {} : { roomSeconds: campus.roomSeconds, roomsPerSecond: round(meters / Math.max(0.1, campus.roomSeconds), 1), loadAverage: loadAverage() }),
    };
    log(`campus created: ${campus.restCalls} REST calls in ${campus.seconds} s`);
    if (roomsBy === 'seed') {
      server.child.kill('SIGTERM');
      await server.exited;
      const seeded = performance.now();
      await seedRooms(database.env, meters, campus.gateways, metersPerGateway);
      const seedSeconds = round((performance.now() - seeded) / 1000, 1);
      const bootAt = performance.now();
      server = startServer(env, nodeArgs, serverBin);
      serverUsage.reset();
      url = await server.listening;
      api = api.sameSessionAt(url);
      report.seed = { seconds: seedSeconds, secondsToListening: round((performance.now() - bootAt) / 1000, 1) };
      log(`rooms seeded in ${seedSeconds} s; server listening again`);
    }
    const brokerUrl = process.env.MQTT_URL ?? (await server.brokerUrl);

    generator = new Generator();
    generatorUsage = new UsageMeter(() => generator?.pid);
    const connectStarted = performance.now();
    await generator.ask({ type: 'start', url: brokerUrl, topicPrefix, gateways: campus.gateways, publishIntervalMs: 1000, metersPerMessage: 32 });
    const online = await untilAllOnline(api, meters, 120_000);
    report.firstConnect = { secondsToAllOnline: round((performance.now() - connectStarted) / 1000, 1), metersOnline: online };
    log(`generator connected; ${online}/${meters} meters online after ${(report.firstConnect as { secondsToAllOnline: number }).secondsToAllOnline} s`);

    // ---- steady window with probes ----
    await sleep(5_000); // settle after the connect burst
    const probes = [...campus.probes];
    let live: LiveClients | undefined;
    if (wsClients > 0) {
      live = new LiveClients();
      const clients = live;
      liveUsage = new UsageMeter(() => clients.pid);
      const liveAt = performance.now();
      const buildings = wsScope === 'building' ? buildingIdsFor(meters) : [];
      const started = await live.ask<Extract<FromLiveClients, { type: 'started' }>>({ type: 'start', wsUrl: url.replace(/^http/, 'ws'), token: api.token, clients: wsClients, buildings, format: wsFormat });
      report.liveClients = { requested: wsClients, opened: started.open, secondsToOpen: round((performance.now() - liveAt) / 1000, 1), scope: wsScope, format: wsFormat, buildings: buildings.length, stalledClients: 1 };
      log(`live feed: ${started.open}/${wsClients} clients open (and one stalled)`);
      await sleep(2_000);
    }
    report.steady = await window(api, generator, serverUsage, generatorUsage, steadySeconds, probes.splice(0, probeCount), live, liveUsage);
    log(`steady: ${JSON.stringify(report.steady)}`);
    // The live clients watch the steady window only (a restart closes them; they do not reconnect).
    await live?.stop({ type: 'stop' });

    if (restart) {
      // ---- restart under load ----
      const loadBefore = loadAverage();
      const stopAt = performance.now();
      server.child.kill('SIGTERM');
      const code = await server.exited;
      const shutdownSeconds = round((performance.now() - stopAt) / 1000, 2);
      const stopped = server.messages.get('stopped') as { ms?: number; unwritten?: number } | undefined;
      const shutdown = { seconds: shutdownSeconds, exitCode: code, actorTreeStopMs: stopped?.ms ?? null, unwritten: stopped?.unwritten ?? null, notable: server.notable };
      const bootAt = performance.now();
      server = startServer(env, nodeArgs, serverBin);
      serverUsage.reset();
      const url2 = await server.listening;
      const listeningSeconds = round((performance.now() - bootAt) / 1000, 2);
      const api2 = api.sameSessionAt(url2);
      if (!process.env.MQTT_URL) generator.send({ type: 'broker', url: await server.brokerUrl });
      const onlineAgain = await untilAllOnline(api2, meters, 120_000);
      const bootSeconds = round((performance.now() - bootAt) / 1000, 2);
      const scrape = new Scrape(await api2.metrics());
      report.restart = {
        loadAverageBefore: loadBefore,
        shutdown,
        boot: { secondsToListening: listeningSeconds, secondsToAllOnline: bootSeconds, metersOnline: onlineAgain, framesRejectedAtBoot: scrape.total('campus_frames_rejected_total'), unknownUnitAtBoot: scrape.total('campus_frames_rejected_total', 'unknown_unit') },
      };
      log(`restart: ${JSON.stringify(report.restart)}`);
      await sleep(3_000);
      report.afterRestart = await window(api2, generator, serverUsage, generatorUsage, afterRestartSeconds, probes);
      log(`after restart: ${JSON.stringify(report.afterRestart)}`);
    }

    // ---- stop ----
    await generator.stop({ type: 'stop' });
    generator = undefined;
    const stopAt = performance.now();
    server.child.kill('SIGTERM');
    await server.exited;
    const stopped = server.messages.get('stopped') as { ms?: number; unwritten?: number } | undefined;
    report.finalShutdown = { seconds: round((performance.now() - stopAt) / 1000, 2), unwritten: stopped?.unwritten ?? null, warnLines: server.counts.warn, errorLines: server.counts.error, notable: server.notable };
    server = undefined;
  } finally {
    clearInterval(sampler);
    await generator?.stop({ type: 'stop' }).catch(() => undefined);
    if (server) {
      server.child.kill('SIGTERM');
      await Promise.race([server.exited, sleep(15_000)]);
      server.child.kill('SIGKILL');
    }
    await database.drop().catch((error: unknown) => log(`could not drop the database: ${String(error)}`));
  }
  report.machine = { ...(report.machine as object), loadAverageAtEnd: loadAverage() };
  report.durationSeconds = round((performance.now() - started) / 1000, 1);
  const file = path.join('bench-results', `e2e-${meters}.json`);
  await mkdir('bench-results', { recursive: true });
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${file} (${report.durationSeconds} s)`);
}

/** Polls campus_meters_online every 250 ms until every meter is online (or the deadline). */
async function untilAllOnline(api: RestClient, expected: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let online = 0;
  while (performance.now() < deadline) {
    online = new Scrape(await api.metrics().catch(() => '')).total('campus_meters_online');
    if (online >= expected) return online;
    await sleep(250);
  }
  return online;
}

/** A measured window: offered and handled rates, server and broker-side latencies, lag, CPU and RSS. */
async function window(api: RestClient, generator: Generator, server: UsageMeter, gen: UsageMeter, seconds: number, probes: readonly { gatewayId: string; unit: string }[], live?: LiveClients, liveUsage?: UsageMeter) {
  const loadAtStart = loadAverage();
  const before = new Scrape(await api.metrics());
  await generator.report(); // resets its counters' window
  await live?.report();
  const genBefore = await generator.report();
  const serverFrom = server.samples.length;
  const genFrom = gen.samples.length;
  const liveFrom = liveUsage?.samples.length ?? 0;
  const started = performance.now();
  const every = (seconds * 1000) / Math.max(1, probes.length + 1);
  for (const probe of probes) {
    await sleep(every);
    generator.send({ type: 'probe', gatewayId: probe.gatewayId, unit: probe.unit });
  }
  await sleep(Math.max(0, seconds * 1000 - (performance.now() - started)));
  const elapsedS = (performance.now() - started) / 1000;
  const after = new Scrape(await api.metrics());
  const genAfter = await generator.report();
  const liveAfter = await live?.report();
  const commands = histogramDelta(before.histogram('campus_reading_to_command_seconds'), after.histogram('campus_reading_to_command_seconds'));
  const lag = histogramDelta(before.histogram('campus_event_loop_lag_seconds'), after.histogram('campus_event_loop_lag_seconds'));
  const writeAheads = histogramDelta(before.histogram('campus_write_ahead_seconds'), after.histogram('campus_write_ahead_seconds'));
  const ms = (s: number | null) => (s === null ? null : round(s * 1000, 2));
  const gc = (kind: string) => {
    const pauses = histogramDelta(before.histogram('nodejs_gc_pause_seconds', `kind="${kind}"`), after.histogram('nodejs_gc_pause_seconds', `kind="${kind}"`));
    return { pauses: pauses.count, totalMs: round(pauses.sum * 1000), p99AtMostMs: ms(bucketPercentile(pauses, 99)), maxBucketMs: ms(maxBucket(pauses)) };
  };
  return {
    seconds: round(elapsedS, 1),
    loadAverage: { start: loadAtStart, end: loadAverage() },
    readingsOfferedPerSecond: round((genAfter.readingsPublished - genBefore.readingsPublished) / elapsedS),
    readingsHandledPerSecond: round((after.total('campus_readings_handled_total') - before.total('campus_readings_handled_total')) / elapsedS),
    generatorMaxScheduleLagMs: round(genAfter.maxScheduleLagMs),
    probes: { sent: probes.length, answered: genAfter.probeLatenciesMs.length, publishToCommandSeenMs: distribution(genAfter.probeLatenciesMs, 2) },
    serverHistogram: { commands: commands.count, meanMs: commands.count ? round((commands.sum / commands.count) * 1000, 2) : null, p50AtMostMs: ms(bucketPercentile(commands, 50)), p90AtMostMs: ms(bucketPercentile(commands, 90)), p99AtMostMs: ms(bucketPercentile(commands, 99)), p999AtMostMs: ms(bucketPercentile(commands, 99.9)) },
    // A cut's decision is committed before its command goes out (docs/architecture.md): the floor of reading -> command.
    writeAheadCommit: { commits: writeAheads.count, meanMs: writeAheads.count ? round((writeAheads.sum / writeAheads.count) * 1000, 2) : null, p99AtMostMs: ms(bucketPercentile(writeAheads, 99)) },
    eventLoopLag: { samples: lag.count, p50AtMostMs: ms(bucketPercentile(lag, 50)), p99AtMostMs: ms(bucketPercentile(lag, 99)), maxBucketMs: ms(maxBucket(lag)) },
    // The main thread stopped for the collector in the window: how much of the lag above it explains.
    gcPauses: { minor: gc('minor'), major: gc('major') },
    // The V8 heap in use (live and not yet collected) at the window's start and end, against the RSS.
    serverHeapUsedMiB: { start: round(before.total('nodejs_heap_used_bytes') / 1_048_576), end: round(after.total('nodejs_heap_used_bytes') / 1_048_576) },
    framesRejected: after.total('campus_frames_rejected_total') - before.total('campus_frames_rejected_total'),
    // Overload: telemetry messages shed on arrival (too many waiting), readings replaced by a newer one of the same meter.
    telemetryShed: after.total('campus_telemetry_shed_total') - before.total('campus_telemetry_shed_total'),
    readingsCoalesced: after.total('campus_readings_coalesced_total') - before.total('campus_readings_coalesced_total'),
    ledgerCommits: after.total('campus_ledger_commit_seconds_count') - before.total('campus_ledger_commit_seconds_count'),
    ledgerCommitSecondsMean: round((after.total('campus_ledger_commit_seconds_sum') - before.total('campus_ledger_commit_seconds_sum')) / Math.max(1, after.total('campus_ledger_commit_seconds_count') - before.total('campus_ledger_commit_seconds_count')), 3),
    server: server.summary(serverFrom),
    generator: gen.summary(genFrom),
    // The clients' own process (on the same cores: a late client event loop is part of reading -> client).
    ...(liveAfter ? { liveFeed: { ...liveFeedSummary(liveAfter, elapsedS, before, after), clientsProcess: liveUsage?.summary(liveFrom) } } : {}),
  };
}

/** What the live-feed clients saw in a window, and what the server says it dropped. */
function liveFeedSummary(live: LiveClientsReport, elapsedS: number, before: Scrape, after: Scrape) {
  const dropped = (reason: string) => after.total('campus_live_clients_dropped_total', reason) - before.total('campus_live_clients_dropped_total', reason);
  const sorted = [...live.latencyMs].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : null);
  return {
    clientsOpen: live.open,
    clientsClosed: live.closed,
    closeCodes: live.closeCodes,
    serverClientsGauge: after.total('campus_live_clients'),
    diffsPerClientPerSecond: round(live.messages / Math.max(1, live.open) / elapsedS, 1),
    mibPerSecondAllClients: round(live.bytes / 1_048_576 / elapsedS, 1),
    readingToClientMs: { sampledClients: live.sampledClients, samples: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: sorted.at(-1) ?? null },
    droppedByServer: { stalled: dropped('stalled'), bufferLimit: dropped('buffer_limit'), keepalive: dropped('keepalive') },
    stalledClientNotReadingForMs: live.stalledSinceMs,
  };
}

/** The upper bound of the highest bucket that gained samples. */
function maxBucket(h: ReturnType<typeof histogramDelta>): number | null {
  let previous = 0;
  let max: number | null = null;
  for (const [le, cumulative] of [...h.buckets].sort((a, b) => a[0] - b[0])) {
    if (cumulative > previous) max = le;
    previous = cumulative;
  }
  return max;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench:e2e failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
