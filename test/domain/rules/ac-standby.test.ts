import t from 'tap';
import {
  DEFAULT_AC_STANDBY_CONFIG,
  evaluateAcStandby,
  initialAcStandbyState,
  isForeignLoad,
  validateAcStandbyConfig,
  type AcStandbyConfig,
  type AcStandbyInput,
  type AcStandbyState,
} from '../../../src/domain/rules/ac-standby.ts';
import type { RuleSample } from '../../../src/domain/rules/rule-sample.ts';
import type { ActionVerdict } from '../../../src/domain/rules/rule-verdict.ts';
import { AC_STANDBY, AIR_CONDITIONER, HEATER, KETTLE, local, reading, run, timeline, type Segment } from './samples.ts';

const T0 = local(2025, 7, 15, 14, 0);
const samples = (list: readonly RuleSample[]): AcStandbyInput[] => list.map((sample) => ({ type: 'sample', sample }));
const feed = (inputs: readonly AcStandbyInput[], config: AcStandbyConfig = DEFAULT_AC_STANDBY_CONFIG, state: AcStandbyState = initialAcStandbyState()) =>
  run(evaluateAcStandby, config, state, inputs);
const summary = (verdicts: ReturnType<typeof feed>['verdicts']) =>
  verdicts.map((v) => [v.index, v.verdict.action, (v.verdict as ActionVerdict).detail.split(':')[0]]);

t.test('an air conditioner cycling between compressor and standby never trips', async (t) => {
  const cycle: Segment[] = [
    [900, [AIR_CONDITIONER]],
    [300, [AC_STANDBY]],
  ];
  t.same(feed(samples(timeline(T0, [...cycle, ...cycle, ...cycle]))).verdicts, []);
});

t.test('plug pulled: current below 0.01 A for 30 s cuts; 29 s does not', async (t) => {
  const pulled = timeline(T0, [
    [60, [AIR_CONDITIONER]],
    [31, []],
  ]);
  const { verdicts, state } = feed(samples(pulled));
  t.same(summary(verdicts), [[90, 'cut', 'AC unplugged']]);
  const v = verdicts[0]!.verdict as ActionVerdict;
  t.equal(v.reason, 'ac_standby');
  t.equal(v.evidence?.length, 1);
  t.equal(state.phase, 'cut');
  t.same(feed(samples(pulled.slice(0, 90))).verdicts, [], '30 readings = 29 s: not yet');
});

t.test('a kettle or heater on the AC circuit is a foreign load', async (t) => {
  const swapped = timeline(T0, [
    [60, [AIR_CONDITIONER]],
    [4, []],
    [20, [KETTLE]],
  ]);
  t.same(summary(feed(samples(swapped)).verdicts), [[64 + 5, 'cut', 'foreign load on the AC circuit']]);
  // Alongside the running AC the heater lifts the circuit's PF above the AC band.
  const alongside = timeline(T0, [
    [60, [AIR_CONDITIONER]],
    [20, [AIR_CONDITIONER, HEATER]],
  ]);
  const { verdicts } = feed(samples(alongside));
  t.same(summary(verdicts), [[65, 'cut', 'foreign load on the AC circuit']]);
  t.same((verdicts[0]!.verdict as ActionVerdict).evidence?.map((e) => e.at), [alongside[60]!.at, alongside[65]!.at]);
});

t.test('signature band edges: PF band inclusive, minW inclusive', async (t) => {
  const s = (powerW: number, powerFactor: number): RuleSample => ({ at: T0, powerW, powerFactor, apparentVA: powerW / powerFactor, currentA: powerW / powerFactor / 220, relayClosed: true });
  const sig = DEFAULT_AC_STANDBY_CONFIG.signature;
  const rows: ReadonlyArray<[RuleSample, boolean, string]> = [
    [s(1000, 0.97), false, 'PF exactly maxPf is AC-like'],
    [s(1000, 0.971), true, 'PF above maxPf is foreign'],
    [s(1000, 0.5), false, 'PF exactly minPf is AC-like'],
    [s(1000, 0.499), true, 'PF below minPf is foreign'],
    [s(300, 1), true, 'exactly minW is judged'],
    [s(299.9, 1), false, 'below minW is not judged'],
    [s(1000, -0.99), true, 'reverse sign counts by magnitude'],
  ];
  for (const [sample, foreign, name] of rows) t.equal(isForeignLoad(sig, sample), foreign, name);
});

t.test('a relay opened by another rule is not "unplugged"', async (t) => {
  t.same(feed(samples(timeline(T0, [[600, [AIR_CONDITIONER]]], { relayClosed: false }))).verdicts, []);
});

t.test('restore is a trial: operator allows, the AC must draw current within the probation', async (t) => {
  const cut = feed(samples(timeline(T0, [[31, []]])));
  t.equal(cut.state.phase, 'cut');
  const tCut = T0 + 30_000;
  const whileCut = samples(timeline(tCut + 1000, [[600, [AIR_CONDITIONER]]], { relayClosed: false }));
  t.same(feed(whileCut, DEFAULT_AC_STANDBY_CONFIG, cut.state).verdicts, [], 'no autoRestore: waits for an operator');

  const allowedAt = tCut + 60_000;
  const plugged: AcStandbyInput[] = [
    { type: 'operatorAllowed', at: allowedAt },
    ...samples(timeline(allowedAt + 1000, [[2, []], [10, [AC_STANDBY]]])),
  ];
  const ok = feed(plugged, DEFAULT_AC_STANDBY_CONFIG, cut.state);
  t.same(summary(ok.verdicts), [[0, 'restore', 'operator allowed']]);
  t.equal(ok.state.phase, 'monitoring', 'standby current confirms the AC is back');

  const stillUnplugged = feed(
    [{ type: 'operatorAllowed', at: allowedAt }, ...samples(timeline(allowedAt + 1000, [[121, []]]))],
    DEFAULT_AC_STANDBY_CONFIG,
    cut.state,
  );
  t.same(summary(stillUnplugged.verdicts), [
    [0, 'restore', 'operator allowed'],
    [120, 'cut', 'AC still unplugged 120 s after the trial reclose'],
  ]);

  const kettle = feed(
    [{ type: 'operatorAllowed', at: allowedAt }, ...samples(timeline(allowedAt + 1000, [[10, [KETTLE]]]))],
    DEFAULT_AC_STANDBY_CONFIG,
    cut.state,
  );
  t.same(summary(kettle.verdicts), [
    [0, 'restore', 'operator allowed'],
    [6, 'cut', 'foreign load on the AC circuit'],
  ]);
  t.same(feed([{ type: 'operatorAllowed', at: T0 }]).verdicts, [], 'allowing a circuit that is not cut does nothing');
});

t.test('autoRestore tries a reclose autoRestoreAfterSeconds after the cut', async (t) => {
  const config = { ...DEFAULT_AC_STANDBY_CONFIG, autoRestore: true };
  const cut = feed(samples(timeline(T0, [[31, []]])), config);
  const open = samples(timeline(T0 + 31_000, [[400, []]], { relayClosed: false }));
  const { verdicts } = feed(open, config, cut.state);
  t.same(summary(verdicts), [[299, 'restore', 'automatic trial reclose']], 'cut at T0+30 s, trial at T0+330 s');
});

t.test('disabling the rule restores a cut AC circuit', async (t) => {
  const cut = feed(samples(timeline(T0, [[31, []]])));
  const result = evaluateAcStandby({ ...DEFAULT_AC_STANDBY_CONFIG, enabled: false }, cut.state, {
    type: 'sample',
    sample: reading(T0 + 40_000, [], { relayClosed: false }),
  });
  t.equal(result.verdict.action, 'restore');
  t.equal(result.state.phase, 'monitoring');
});

t.test('validateAcStandbyConfig', async (t) => {
  const ok = validateAcStandbyConfig({ autoRestore: true, signature: { maxPf: 1 } });
  t.ok(ok.ok && ok.config.autoRestore && ok.config.signature.maxPf === 1 && ok.config.signature.minW === 300);
  const rows: ReadonlyArray<[unknown, string]> = [
    [1, ''],
    [{ signature: { minPf: 0.9, maxPf: 0.8 } }, 'signature.maxPf'],
    [{ signature: { pf: 1 } }, 'signature.pf'],
    [{ pluggedMinA: -0.1 }, 'pluggedMinA'],
    [{ probationSeconds: 0 }, 'probationSeconds'],
    [{ unpluggedSeconds: '30' }, 'unpluggedSeconds'],
    [{ autoRestore: 'true' }, 'autoRestore'],
  ];
  for (const [input, field] of rows) {
    const result = validateAcStandbyConfig(input);
    t.equal(result.ok ? '(ok)' : result.field, field, JSON.stringify(input));
  }
});
