import { randomBytes } from 'node:crypto';
import { availableParallelism, loadavg } from 'node:os';
import type { Test } from 'tap';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/db/database.ts';
import type { Clock } from '../../src/clock.ts';
import { DEMO_CAMPUS_SHAPE, type DemoCampusShape } from '../../src/services/demo-campus.seed.ts';
import { QUIET_RULE_SETTINGS, writeCampusRules } from './quiet-rules.ts';
import { createTestApp, type TestApp } from './test-app.ts';

/**
 * The campus a live test runs unless it asks for a smaller one: 2 buildings x 2 floors x 17
 * rooms (68 rooms, every room the live tests name), a third of the 200-room demo campus that
 * would otherwise be polled every 200 ms beside each test.
 */
export const TEST_CAMPUS_SHAPE: DemoCampusShape = { ...DEMO_CAMPUS_SHAPE, floors: 2, roomsPerFloor: 17 };

/**
 * A running app with the in-process simulator (real Modbus TCP servers and MQTT publishers,
 * on MQTT_URL when set, else an embedded broker), a unique MQTT topic prefix per test, fast
 * polling and immediate ledger postings. `quietAtBoot` writes the quiet rules (see quietRules)
 * into the database before the app starts, so no actor ever runs the default rules: no
 * lights-off cut at boot when the wall clock falls in the campus's lights-off hours.
 */
export async function startLiveApp(t: Test, env: Record<string, string> = {}, options: { clock?: Clock; demoShape?: DemoCampusShape; quietAtBoot?: boolean; appDb?: (db: Kysely<Database>) => Kysely<Database> } = {}): Promise<TestApp & { url: string; admin: { authorization: string } }> {
  const { quietAtBoot, ...appOptions } = options;
  const test = await createTestApp(t, { env: { ...liveAppEnv(), ...env }, commandRetryMs: 2000, demoShape: TEST_CAMPUS_SHAPE, ...appOptions });
  if (quietAtBoot) await writeCampusRules(test.database.db, 'demo', QUIET_RULE_SETTINGS);
  const url = await test.app.start();
  const admin = await test.login('admin', 'test-admin-password');
  return { ...test, url, admin };
}

/** The variables of a live test app: the simulator, fast polling, immediate postings, a unique topic prefix. */
export function liveAppEnv(): Record<string, string> {
  return {
    SIMULATE: 'true',
    SIMULATOR_SPEED: '1',
    POLL_INTERVAL_MS: '200',
    BILLING_POST_INTERVAL_MS: '0',
    LEDGER_FLUSH_MS: '50',
    MQTT_TOPIC_PREFIX: `t${randomBytes(4).toString('hex')}/campus`,
    ...(process.env.MQTT_URL ? { MQTT_URL: process.env.MQTT_URL } : {}),
  };
}

type Probe<T> = () => Promise<T | undefined | null | false> | T | undefined | null | false;

/** Polls `probe` every `everyMs` until it is truthy; `expired` (given the last result) returns the failure message once it gives up. */
async function pollUntil<T>(probe: Probe<T>, expired: (last: string) => Promise<string | undefined> | string | undefined, everyMs: number): Promise<T> {
  for (;;) {
    let last: unknown;
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    const failure = await expired(last instanceof Error ? last.message : JSON.stringify(last));
    if (failure) throw new Error(failure);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** The most a busy machine stretches a `waitFor` deadline: a 40 s wait gives up after at most 160 s, well inside tap's 420 s per file. */
const MOST_STRETCH = 4;

/**
 * How many times over the machine's cores are booked (the 1-minute load average per core,
 * between 1 and MOST_STRETCH): the factor by which a test's in-process campus gets its share
 * of CPU more slowly than on a quiet machine.
 */
export function machineStretch(): number {
  return Math.min(MOST_STRETCH, Math.max(1, (loadavg()[0] ?? 0) / availableParallelism()));
}

/**
 * Polls `probe` until it returns a truthy value or the deadline passes (then fails with `what`).
 * The deadline is `timeoutMs` of a quiet machine's time: each wall-clock stretch counts divided
 * by machineStretch(), so two suites side by side (load 20 on 2 cores) lengthen the wait up to
 * four times instead of failing a campus that is slow, not broken; on a quiet machine it is the
 * plain wall-clock deadline.
 */
export async function waitFor<T>(what: string, probe: Probe<T>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const started = Date.now();
  let left = timeoutMs;
  let at = started;
  return pollUntil(
    probe,
    (last) => {
      const now = Date.now();
      left -= (now - at) / machineStretch();
      at = now;
      return left < 0 ? `timed out waiting for ${what} after ${now - started} ms (a quiet machine's ${timeoutMs} ms; last: ${last})` : undefined;
    },
    everyMs,
  );
}

/**
 * Counts the readings a dormitory's meter handles (each new `lastReadingAt` is one), so a test
 * can give an event a deadline counted in the campus's own work (its polls), which a busy CPU
 * stretches instead of missing. A meter not read at all for `stallMs` is an error: a dead
 * poller, not a slow one.
 */
class ReadingCounter {
  private lastAt: number | null | undefined;
  private movedAt = Date.now();
  seen = 0;

  constructor(
    private readonly test: { app: TestApp['app']; admin: { authorization: string } },
    private readonly dormitoryId: string,
    private readonly stallMs: number,
  ) {}

  /** Looks once; throws when the meter has stalled. */
  async look(): Promise<void> {
    const at = (await getDormitory(this.test, this.dormitoryId)).lastReadingAt;
    if (at !== this.lastAt) {
      if (this.lastAt !== undefined) this.seen++;
      this.lastAt = at;
      this.movedAt = Date.now();
    } else if (Date.now() - this.movedAt > this.stallMs) {
      throw new Error(`${this.dormitoryId} handled no reading for ${this.stallMs} ms`);
    }
  }
}

/**
 * Polls `probe` until it returns a truthy value; fails with `what` only after the dormitory's
 * meter has handled `readings` new readings without it (see ReadingCounter).
 */
export async function waitForReadings<T>(
  test: { app: TestApp['app']; admin: { authorization: string } },
  dormitoryId: string,
  what: string,
  probe: Probe<T>,
  readings: number,
  stallMs = 60_000,
): Promise<T> {
  const counter = new ReadingCounter(test, dormitoryId, stallMs);
  return pollUntil(
    probe,
    async (last) => {
      await counter.look();
      return counter.seen >= readings ? `${what} did not happen within ${readings} readings of ${dormitoryId} (last: ${last})` : undefined;
    },
    50,
  );
}

/** Resolves once the dormitory's meter has handled `count` more readings. */
export async function readingsHandled(test: { app: TestApp['app']; admin: { authorization: string } }, dormitoryId: string, count: number, stallMs = 60_000): Promise<void> {
  const counter = new ReadingCounter(test, dormitoryId, stallMs);
  // look() throws when the meter stalls; it runs outside the probe, so the error ends the wait.
  await pollUntil(
    () => counter.seen >= count,
    async () => {
      await counter.look();
      return undefined;
    },
    50,
  );
}

export interface LiveDormitory {
  id: string;
  state: string;
  lastReadingAt: number | null;
  balance: { electricity: number; water: number };
  online: boolean;
  powerW: number;
  circuits: { kind: string; supply: string; powerW: number; pf: number; cutReason: string | null }[];
}

export async function getDormitory(test: { app: TestApp['app']; admin: { authorization: string } }, id: string): Promise<LiveDormitory> {
  const response = await test.app.http.inject({ method: 'GET', url: `/api/dormitories/${id}`, headers: test.admin });
  if (response.statusCode !== 200) throw new Error(`GET ${id}: ${response.statusCode} ${response.body}`);
  return response.json<LiveDormitory>();
}

export async function metricValue(test: { app: TestApp['app'] }, name: string, labels = ''): Promise<number> {
  const text = await test.app.metrics.render();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const [series, value] = line.split(' ');
    if (series === name || (series!.startsWith(`${name}{`) && series!.includes(labels))) total += Number(value);
  }
  return total;
}

/**
 * Turns the campus's schedule and safety rules off (through the live rules API), for tests of
 * money and commands that must not be disturbed by lights-off at a simulated 23:30 or by an
 * appliance tripping a rule. A rule PUT answers once every meter actor has the new rules.
 * An app started at a wall-clock hour inside lights-off has cut its lighting already: start it
 * with `startLiveApp(..., { quietAtBoot: true })` instead.
 */
export async function quietRules(test: { app: TestApp['app']; admin: { authorization: string } }, campus = 'demo'): Promise<void> {
  for (const [rule, config] of Object.entries(QUIET_RULE_SETTINGS)) {
    const response = await test.app.http.inject({ method: 'PUT', url: `/api/rules/campus/${campus}/${rule}`, headers: test.admin, payload: { config } });
    if (response.statusCode !== 200) throw new Error(`PUT rule ${rule}: ${response.statusCode} ${response.body}`);
  }
}
