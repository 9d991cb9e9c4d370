import t from 'tap';
import {
  DEFAULT_CIRCUIT_OVERLOAD_CONFIGS,
  DEFAULT_DORMITORY_OVERLOAD_CONFIG,
  DEFAULT_OVERLOAD_CONFIG,
  evaluateOverload,
  initialOverloadState,
  validateOverloadConfig,
} from '../../../src/domain/rules/overload.ts';
import type { ActionVerdict } from '../../../src/domain/rules/rule-verdict.ts';
import { AIR_CONDITIONER, HAIR_DRYER, HEATER, KETTLE, LAPTOP, local, run, timeline } from './samples.ts';

const T0 = local(2025, 3, 10, 19, 0);
const at = (i: number, powerW: number) => ({ at: T0 + i * 1000, powerW, powerFactor: 1, apparentVA: powerW, currentA: powerW / 220, relayClosed: true });
const series = (values: readonly number[]) => values.map((p, i) => at(i, p));

t.test('limit and duration edges (over = powerW > limitW; cut at the first reading >= holdSeconds after the first over one)', async (t) => {
  const cfg = { enabled: true, limitW: 2200, holdSeconds: 10 };
  const rows: ReadonlyArray<[string, number[], number[]]> = [
    ['exactly at the limit never cuts', Array(60).fill(2200), []],
    ['10 readings over (9 s) do not cut', Array(10).fill(2200.1), []],
    ['the 11th reading (10 s) cuts', Array(11).fill(2200.1), [10]],
    ['a reading at the limit restarts the duration', [...Array(10).fill(2500), 2200, ...Array(10).fill(2500)], []],
    ['after a cut the duration starts afresh', Array(22).fill(2500), [10, 21]],
  ];
  for (const [name, values, indexes] of rows) {
    t.same(run(evaluateOverload, cfg, initialOverloadState(), series(values)).verdicts.map((v) => v.index), indexes, name);
  }
});

t.test('a sample gap does not stretch the rule: time, not reading count, decides', async (t) => {
  const cfg = { enabled: true, limitW: 2200, holdSeconds: 10 };
  const sparse = [at(0, 2500), at(5, 2500), at(10, 2500)];
  t.same(run(evaluateOverload, cfg, initialOverloadState(), sparse).verdicts.map((v) => v.index), [2]);
});

t.test('per circuit and per dormitory with realistic loads', async (t) => {
  const socket = timeline(T0, [
    [5, [LAPTOP]],
    [30, [LAPTOP, KETTLE, HEATER]],
  ]);
  const { verdicts } = run(evaluateOverload, DEFAULT_CIRCUIT_OVERLOAD_CONFIGS.socket, initialOverloadState(), socket);
  t.equal(verdicts[0]?.index, 15);
  const v = verdicts[0]!.verdict as ActionVerdict;
  t.same([v.action, v.reason], ['cut', 'overload']);
  t.match(v.detail, /overload: \d+ W above 2200 W for 10 s/);
  t.same(v.evidence?.map((e) => e.at), [socket[5]!.at, socket[15]!.at]);

  const ac = timeline(T0, [[600, [AIR_CONDITIONER]]]);
  t.same(run(evaluateOverload, DEFAULT_CIRCUIT_OVERLOAD_CONFIGS.ac, initialOverloadState(), ac).verdicts, []);
  const line = timeline(T0, [[30, [AIR_CONDITIONER, KETTLE, HEATER, HAIR_DRYER]]]);
  t.equal(run(evaluateOverload, DEFAULT_DORMITORY_OVERLOAD_CONFIG, initialOverloadState(), line).verdicts[0]?.index, 10);
  t.same(run(evaluateOverload, { ...DEFAULT_OVERLOAD_CONFIG, enabled: false }, initialOverloadState(), line).verdicts, []);
});

t.test('validateOverloadConfig', async (t) => {
  const dorm = validateOverloadConfig({ holdSeconds: 3 }, DEFAULT_DORMITORY_OVERLOAD_CONFIG);
  t.ok(dorm.ok && dorm.config.limitW === 5000 && dorm.config.holdSeconds === 3, 'defaults come from the given base');
  const rows: ReadonlyArray<[unknown, string]> = [
    [[], ''],
    [{ limitW: 0 }, 'limitW'],
    [{ holdSeconds: -1 }, 'holdSeconds'],
    [{ limit: 10 }, 'limit'],
  ];
  for (const [input, field] of rows) {
    const result = validateOverloadConfig(input);
    t.equal(result.ok ? '(ok)' : result.field, field, JSON.stringify(input));
  }
});
