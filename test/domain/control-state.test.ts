import t from 'tap';
import { bootCutReasons, parseCircuitControlState, parseDormitoryControlState, parseMeterControlState, ruleOwnedReasons, type BootReasonsInput } from '../../src/domain/control-state.ts';

const base: BootReasonsInput = {
  meterKind: 'electric',
  target: 'socket',
  standing: { electricity: 'normal', water: 'normal' },
  waterArrearsCutsElectricity: true,
  schedule: 'on',
  manual: false,
  persisted: [],
};

t.test('bootCutReasons: every owner of a reason is asked before the circuit acts', async (t) => {
  const cases: [string, Partial<BootReasonsInput>, string[]][] = [
    ['nothing holds', {}, []],
    ['electricity purse cut', { standing: { electricity: 'cut', water: 'normal' } }, ['arrears']],
    ['electricity overdraft is not a cut', { standing: { electricity: 'overdraft', water: 'normal' } }, []],
    ['water purse cut, linkage on', { standing: { electricity: 'normal', water: 'cut' } }, ['water_arrears']],
    ['water purse cut, linkage off', { standing: { electricity: 'normal', water: 'cut' }, waterArrearsCutsElectricity: false }, []],
    ['water valve of a cut water purse', { meterKind: 'water', target: 'valve', standing: { electricity: 'cut', water: 'cut' }, manual: true }, ['arrears']],
    ['water valve, electricity cut only', { meterKind: 'water', target: 'valve', standing: { electricity: 'cut', water: 'normal' } }, []],
    ['lights-off holds the lighting circuit', { target: 'lighting', schedule: 'lights_off' }, ['lights_off']],
    ['lights-off does not hold the socket', { schedule: 'lights_off' }, []],
    ['lights-off does not hold a one-relay meter', { target: 'main', schedule: 'lights_off' }, []],
    ['holiday holds every circuit', { target: 'ac', schedule: 'holiday' }, ['holiday']],
    ['manual cut', { manual: true }, ['manual']],
    ['persisted safety reasons', { persisted: ['malignant_load', 'tamper'] }, ['malignant_load', 'tamper']],
    ['persisted non-safety reasons are ignored (their owners decide)', { persisted: ['manual', 'arrears', 'lights_off'] }, []],
    ['everything at once', { target: 'lighting', standing: { electricity: 'cut', water: 'cut' }, schedule: 'lights_off', manual: true, persisted: ['overload'] }, ['arrears', 'lights_off', 'manual', 'overload', 'water_arrears']],
  ];
  for (const [name, input, expected] of cases) t.same(bootCutReasons({ ...base, ...input }).sort(), expected, name);
});

t.test('ruleOwnedReasons keeps only the safety rules', async (t) => {
  t.same(ruleOwnedReasons(['manual', 'tamper', 'arrears', 'low_current', 'holiday']), ['low_current', 'tamper']);
});

t.test('stored control states are parsed defensively', async (t) => {
  const reclose = { phase: 'locked', reason: 'malignant_load', recloseAt: null, reclosesToday: 3, countDay: 20_000 };
  t.same(parseCircuitControlState({ reasons: ['malignant_load', 'manual'], lowCurrentCut: false, acStandby: { phase: 'monitoring', since: null }, reclose }), {
    reasons: ['malignant_load'],
    lowCurrentCut: false,
    acStandby: { phase: 'monitoring', since: null },
    reclose,
  }, 'a lock-out round-trips; a reason it does not own is dropped');
  t.equal(parseCircuitControlState({ reasons: [], lowCurrentCut: false, acStandby: { phase: 'monitoring', since: null }, reclose: { ...reclose, phase: 'stuck' } }), null, 'an unknown reclose phase is refused');
  t.equal(parseCircuitControlState({ reasons: 'tamper' }), null, 'reasons must be a list');
  t.same(parseDormitoryControlState({ standing: { electricity: 'cut', water: 'normal' }, warning: { electricity: 2, water: 0 } }), { standing: { electricity: 'cut', water: 'normal' }, warning: { electricity: 2, water: 0 } });
  t.equal(parseDormitoryControlState({ standing: { electricity: 'broke', water: 'normal' }, warning: { electricity: 0, water: 0 } }), null, 'an unknown standing is refused');
  t.same(parseMeterControlState({ tamper: { coverOpen: true, reverseConnection: false }, reclose: { ...reclose, phase: 'closed', reason: null } })?.tamper, { coverOpen: true, reverseConnection: false });
  t.equal(parseMeterControlState(null), null);
});
