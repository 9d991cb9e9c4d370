import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import type { Clock } from '../../src/clock.ts';
import { createTestApp, type TestApp } from './test-app.ts';

/**
 * A running app with the in-process simulator (real Modbus TCP servers and MQTT publishers,
 * on MQTT_URL when set, else an embedded broker), a unique MQTT topic prefix per test, fast
 * polling and immediate ledger postings.
 */
export async function startLiveApp(t: Test, env: Record<string, string> = {}, options: { clock?: Clock } = {}): Promise<TestApp & { url: string; admin: { authorization: string } }> {
  const test = await createTestApp(t, { env: { ...liveAppEnv(), ...env }, commandRetryMs: 2000, ...options });
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

/** Polls `probe` until it returns a truthy value or the deadline passes (then fails with `what`). */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export interface LiveDormitory {
  id: string;
  state: string;
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
 * appliance tripping a rule.
 */
export async function quietRules(test: { app: TestApp['app']; admin: { authorization: string } }, campus = 'demo'): Promise<void> {
  const noNights = Object.fromEntries(['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'].map((d) => [d, null]));
  const settings: Record<string, unknown> = {
    lightingSchedule: { nights: noNights },
    malignantLoad: { mode: 'off' },
    lowCurrent: { enabled: false },
    acStandby: { enabled: false },
    overloadLighting: { enabled: false },
    overloadSocket: { enabled: false },
    overloadAc: { enabled: false },
    overloadDormitory: { enabled: false },
  };
  for (const [rule, config] of Object.entries(settings)) {
    const response = await test.app.http.inject({ method: 'PUT', url: `/api/rules/campus/${campus}/${rule}`, headers: test.admin, payload: { config } });
    if (response.statusCode !== 200) throw new Error(`PUT rule ${rule}: ${response.statusCode} ${response.body}`);
  }
  await settleRules();
}

/** A rule PUT hands the new rule book to the running actors; give the push a moment to reach every circuit. */
export function settleRules(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1500));
}
