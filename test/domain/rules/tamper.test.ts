import t from 'tap';
import {
  DEFAULT_TAMPER_CONFIG,
  evaluateTamper,
  initialTamperState,
  validateTamperConfig,
} from '../../../src/domain/rules/tamper.ts';
import type { MeterFlags } from '../../../src/domain/reading.ts';
import type { ActionVerdict } from '../../../src/domain/rules/rule-verdict.ts';
import { run } from './samples.ts';

const F = (coverOpen: boolean, reverseConnection: boolean): MeterFlags => ({ coverOpen, reverseConnection });

t.test('rising edges alarm once; a flag that stays set does not repeat; clear and set again does', async (t) => {
  const flags = [F(false, false), F(true, false), F(true, false), F(false, false), F(true, false), F(true, true), F(false, false), F(true, true)];
  const { verdicts } = run(evaluateTamper, DEFAULT_TAMPER_CONFIG, initialTamperState(), flags);
  t.same(
    verdicts.map((v) => [v.index, v.verdict.action, (v.verdict as ActionVerdict).reason, (v.verdict as ActionVerdict).detail]),
    [
      [1, 'alarm', 'tamper', 'meter cover opened'],
      [4, 'alarm', 'tamper', 'meter cover opened'],
      [5, 'alarm', 'tamper', 'reverse connection'],
      [7, 'alarm', 'tamper', 'meter cover opened; reverse connection'],
    ],
  );
});

t.test('cut per flag when configured', async (t) => {
  const cfg = { cutOnCoverOpen: false, cutOnReverseConnection: true };
  const cover = evaluateTamper(cfg, initialTamperState(), F(true, false));
  t.equal(cover.verdict.action, 'alarm');
  const reverse = evaluateTamper(cfg, cover.state, F(true, true));
  t.equal(reverse.verdict.action, 'cut');
  const both = evaluateTamper({ cutOnCoverOpen: true, cutOnReverseConnection: false }, initialTamperState(), F(true, true));
  t.equal(both.verdict.action, 'cut', 'either flag configured to cut makes it a cut');
});

t.test('a meter first read with its cover open alarms (initial state is all clear)', async (t) => {
  t.equal(evaluateTamper(DEFAULT_TAMPER_CONFIG, initialTamperState(), F(true, false)).verdict.action, 'alarm');
  const unchanged = initialTamperState();
  t.equal(evaluateTamper(DEFAULT_TAMPER_CONFIG, unchanged, F(false, false)).state, unchanged, 'no change, same state object');
});

t.test('validateTamperConfig', async (t) => {
  const ok = validateTamperConfig({ cutOnCoverOpen: true });
  t.ok(ok.ok && ok.config.cutOnCoverOpen && !ok.config.cutOnReverseConnection);
  const bad = validateTamperConfig({ cutOnCoverOpen: 1 });
  t.same(bad, { ok: false, field: 'cutOnCoverOpen', message: 'must be true or false' });
  const unknown = validateTamperConfig({ cutOnTheft: true });
  t.equal(unknown.ok ? '' : unknown.field, 'cutOnTheft');
});
