import t from 'tap';
import {
  DEFAULT_LOW_CURRENT_CONFIG,
  evaluateLowCurrent,
  initialLowCurrentState,
  validateLowCurrentConfig,
  type LowCurrentInput,
} from '../../../src/domain/rules/low-current.ts';
import type { RuleSample } from '../../../src/domain/rules/rule-sample.ts';
import type { ActionVerdict } from '../../../src/domain/rules/rule-verdict.ts';
import { HEATER, LAPTOP, PHONE_CHARGER, local, run, timeline, type Segment } from './samples.ts';

const T0 = local(2025, 3, 10, 23, 30);
const lightsOff = (samples: readonly RuleSample[]): LowCurrentInput[] =>
  samples.map((sample) => ({ type: 'sample', sample, lightsOn: false }));
const feed = (inputs: readonly LowCurrentInput[], config = DEFAULT_LOW_CURRENT_CONFIG) =>
  run(evaluateLowCurrent, config, initialLowCurrentState(), inputs);
const flat = (powerW: number, seconds: number): RuleSample[] =>
  Array.from({ length: seconds }, (_, i) => ({
    at: T0 + i * 1000,
    powerW,
    powerFactor: 1,
    apparentVA: powerW,
    currentA: powerW / 220,
    relayClosed: true,
  }));

t.test('threshold and hold edges (over = powerW > 100 W; cut at first reading >= 5 s after the first over one)', async (t) => {
  const rows: ReadonlyArray<[string, RuleSample[], number | null]> = [
    ['exactly 100 W for 10 minutes is allowed', flat(100, 600), null],
    ['100.1 W cuts 5 s after it started', flat(100.1, 10), 5],
    ['one reading short of the hold does not cut', flat(150, 5), null],
  ];
  for (const [name, samples, index] of rows) {
    const { verdicts } = feed(lightsOff(samples));
    t.same(verdicts.map((v) => v.index), index === null ? [] : [index], name);
  }
  const zeroHold = feed(lightsOff(flat(101, 3)), { ...DEFAULT_LOW_CURRENT_CONFIG, holdSeconds: 0 });
  t.same(zeroHold.verdicts.map((v) => v.index), [0], 'holdSeconds 0 cuts on the first over reading');
});

t.test('a dip to or below the threshold restarts the hold', async (t) => {
  const samples = [...flat(300, 4), ...flat(100, 1), ...flat(300, 5)].map((s, i) => ({ ...s, at: T0 + i * 1000 }));
  t.same(feed(lightsOff(samples)).verdicts, []);
});

t.test('phones and a laptop run all night; a heater is cut and stays cut until lights-on', async (t) => {
  const desk = [LAPTOP, PHONE_CHARGER, PHONE_CHARGER];
  const segments: Segment[] = [
    [3600, desk],
    [30, [...desk, HEATER]],
  ];
  const night = timeline(T0, segments);
  const inputs: LowCurrentInput[] = [
    ...lightsOff(night),
    ...lightsOff(timeline(T0 + night.length * 1000, [[600, desk]], { relayClosed: false })),
    { type: 'lightsOn', at: local(2025, 3, 11, 6, 30) },
  ];
  const { verdicts, state } = feed(inputs);
  t.equal(verdicts.length, 2);
  const [cut, restore] = verdicts.map((v) => v.verdict as ActionVerdict);
  t.equal(verdicts[0]!.index, 3600 + 5);
  t.equal(cut!.action, 'cut');
  t.equal(cut!.reason, 'low_current');
  t.match(cut!.detail, /above 100 W for 5 s/);
  t.equal(cut!.evidence?.length, 2, 'first over reading and the cutting one');
  t.equal(cut!.evidence![0]!.at, night[3600]!.at);
  t.same([restore!.action, restore!.reason, restore!.detail], ['restore', 'low_current', 'lights on']);
  t.same(state, initialLowCurrentState());
});

t.test('lights on: never judged; a lights-on sample also restores', async (t) => {
  const day = flat(2000, 30).map((sample): LowCurrentInput => ({ type: 'sample', sample, lightsOn: true }));
  t.same(feed(day).verdicts, []);
  const inputs: LowCurrentInput[] = [...lightsOff(flat(2000, 6)), { type: 'sample', sample: flat(0, 1)[0]!, lightsOn: true }];
  t.same(feed(inputs).verdicts.map((v) => v.verdict.action), ['cut', 'restore']);
});

t.test('operator release restores during lights-off; a heater still plugged in is cut again', async (t) => {
  const inputs: LowCurrentInput[] = [
    ...lightsOff(flat(2000, 6)),
    { type: 'releasedByOperator', at: T0 + 60_000 },
    ...lightsOff(flat(2000, 6).map((s) => ({ ...s, at: s.at + 61_000 }))),
  ];
  const { verdicts } = feed(inputs);
  t.same(verdicts.map((v) => [v.index, v.verdict.action, (v.verdict as ActionVerdict).detail.split(':')[0]]), [
    [5, 'cut', 'lights-off low-current mode'],
    [6, 'restore', 'released by operator'],
    [12, 'cut', 'lights-off low-current mode'],
  ]);
  t.same(feed([{ type: 'releasedByOperator', at: T0 }]).verdicts, [], 'release without a cut does nothing');
});

t.test('disabling the rule restores a cut socket', async (t) => {
  const cut = feed(lightsOff(flat(2000, 6)));
  const result = evaluateLowCurrent({ ...DEFAULT_LOW_CURRENT_CONFIG, enabled: false }, cut.state, {
    type: 'sample',
    sample: flat(0, 1)[0]!,
    lightsOn: false,
  });
  t.equal(result.verdict.action, 'restore');
});

t.test('validateLowCurrentConfig', async (t) => {
  const ok = validateLowCurrentConfig({ thresholdW: 150 });
  t.ok(ok.ok && ok.config.thresholdW === 150 && ok.config.holdSeconds === 5 && ok.config.enabled);
  const rows: ReadonlyArray<[unknown, string]> = [
    [undefined, ''],
    [{ thresholdW: -1 }, 'thresholdW'],
    [{ thresholdW: Number.NaN }, 'thresholdW'],
    [{ holdSeconds: 3601 }, 'holdSeconds'],
    [{ enabled: 'yes' }, 'enabled'],
    [{ thresholdWatts: 100 }, 'thresholdWatts'],
  ];
  for (const [input, field] of rows) {
    const result = validateLowCurrentConfig(input);
    t.equal(result.ok ? '(ok)' : result.field, field, String(JSON.stringify(input)));
  }
});
