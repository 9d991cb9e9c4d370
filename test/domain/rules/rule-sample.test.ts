import t from 'tap';
import { apparentPowerVA, evidenceOf, ruleSampleOf } from '../../../src/domain/rules/rule-sample.ts';
import { NO_VERDICT, actionVerdict } from '../../../src/domain/rules/rule-verdict.ts';
import type { CircuitSample } from '../../../src/domain/reading.ts';

t.test('apparent power: V x I, else P / |PF|, else |P|', async (t) => {
  t.equal(apparentPowerVA({ voltageV: 220, currentA: 5, powerW: 1000, powerFactor: 0.9 }), 1100);
  t.equal(apparentPowerVA({ voltageV: 0, currentA: 0, powerW: 900, powerFactor: -0.9 }), 1000);
  t.equal(apparentPowerVA({ voltageV: 0, currentA: 0, powerW: -50, powerFactor: 0 }), 50);
});

t.test('ruleSampleOf takes a CircuitSample; a line without relay counts as closed', async (t) => {
  const circuit: CircuitSample = { kind: 'socket', voltageV: 220, currentA: 0.5, powerW: 66, powerFactor: 0.6, energyWh: 12, relayClosed: false };
  t.same(ruleSampleOf(1000, circuit), { at: 1000, powerW: 66, powerFactor: 0.6, apparentVA: 110, currentA: 0.5, relayClosed: false });
  t.equal(ruleSampleOf(1000, { voltageV: 220, currentA: 1, powerW: 200, powerFactor: 0.9 }).relayClosed, true);
  t.same(Object.keys(evidenceOf(ruleSampleOf(1000, circuit))).sort(), ['apparentVA', 'at', 'powerFactor', 'powerW']);
});

t.test('verdict helpers', async (t) => {
  t.ok(Object.isFrozen(NO_VERDICT));
  t.same(actionVerdict('cut', 'overload', 'x'), { action: 'cut', reason: 'overload', detail: 'x' });
  t.notOk('evidence' in actionVerdict('alarm', 'tamper', 'y'), 'no evidence key when there is none');
});
