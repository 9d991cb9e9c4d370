import t from 'tap';
import fc from 'fast-check';
import type { ElectricReading, MeterReading, WaterReading } from '../../src/domain/reading.ts';
import type { MeterProfileName } from '../../src/drivers/gateway-driver.ts';
import {
  decodeAck,
  decodeCommand,
  decodeStatus,
  decodeTelemetry,
  encodeAck,
  encodeCommand,
  encodeTelemetry,
} from '../../src/drivers/mqtt-payload.ts';

const campus: ElectricReading = {
  type: 'electric',
  unitAddress: '12',
  at: 1_700_000_000_000,
  energyWh: 123_456,
  voltageV: 229.8,
  currentA: 3.2,
  powerW: 690.5,
  powerFactor: 0.93,
  circuits: [
    { kind: 'lighting', voltageV: 229.8, currentA: 0.2, powerW: 40, powerFactor: 0.95, energyWh: 20_001, relayClosed: true },
    { kind: 'socket', voltageV: 229.8, currentA: 2.5, powerW: 560, powerFactor: 0.99, energyWh: 80_000, relayClosed: true },
    { kind: 'ac', voltageV: 229.8, currentA: 0.5, powerW: 90.5, powerFactor: -0.6, energyWh: 23_455, relayClosed: false },
  ],
  flags: { coverOpen: false, reverseConnection: true },
  alarmWord: 0x0102,
};
const acrel: ElectricReading = {
  type: 'electric',
  unitAddress: 'shop-3',
  at: 1_700_000_000_500,
  energyWh: 9_990,
  voltageV: 231,
  currentA: 0,
  powerW: 0,
  powerFactor: 1,
  circuits: [],
  relayClosed: false,
  flags: { coverOpen: false, reverseConnection: false },
  alarmWord: 0,
};
const water: WaterReading = { type: 'water', unitAddress: 'w1', at: 1_700_000_000_900, volumeL: 4_321, valveOpen: true };

const profiles: Record<string, MeterProfileName> = { '12': 'campus-1in3out', 'shop-3': 'acrel-ddsy1352', w1: 'water-valve', sdm: 'sdm120' };
const profileOf = (unit: string): MeterProfileName | undefined => profiles[unit];

/** One campus entry with `values` patched, for the rejection cases. */
function campusWith(patch: (values: Record<string, unknown>) => void): string {
  const root = JSON.parse(encodeTelemetry([campus])) as Record<string, Array<{ values: Record<string, unknown> }>>;
  patch(root['12'][0].values);
  return JSON.stringify(root);
}

function codeOf(payload: string | Uint8Array, options: Parameters<typeof decodeTelemetry>[1] = {}): string | undefined {
  const decoded = decodeTelemetry(payload, options);
  return decoded.readings.length > 0 ? 'decoded' : decoded.rejections[0]?.code;
}

t.test('telemetry round-trips every meter kind', async (t) => {
  const readings: MeterReading[] = [campus, acrel, water, { ...campus, at: campus.at + 1000, energyWh: campus.energyWh + 5 }];
  const payload = encodeTelemetry(readings);
  const parsed = JSON.parse(payload) as Record<string, unknown[]>;
  t.same(Object.keys(parsed), ['12', 'shop-3', 'w1'], 'one key per unit');
  t.equal(parsed['12'].length, 2, 'samples of one unit grouped');
  const decoded = decodeTelemetry(payload, { profileOf });
  t.same(decoded.rejections, []);
  t.same(decoded.readings, [campus, { ...campus, at: campus.at + 1000, energyWh: campus.energyWh + 5 }, acrel, water]);
  t.same(decodeTelemetry(Buffer.from(payload)).readings.length, 4, 'Buffer input, no profiles');
});

t.test('optional fields default and unknown keys are ignored', async (t) => {
  const payload = JSON.stringify({ sdm: [{ ts: 5, values: { energyWh: 1, voltageV: 230, currentA: 0, powerW: 0, powerFactor: 1, frequencyHz: 50 } }] });
  const decoded = decodeTelemetry(payload, { profileOf });
  t.same(decoded.rejections, []);
  t.same(decoded.readings, [
    { type: 'electric', unitAddress: 'sdm', at: 5, energyWh: 1, voltageV: 230, currentA: 0, powerW: 0, powerFactor: 1, circuits: [], flags: { coverOpen: false, reverseConnection: false }, alarmWord: 0 },
  ]);
});

t.test('payload-level rejections', async (t) => {
  t.equal(codeOf('{"12": [ {'), 'not_json');
  t.equal(codeOf(Buffer.from([0xff, 0x00, 0x13])), 'not_json');
  t.equal(codeOf('NaN'), 'not_json');
  t.equal(codeOf(''), 'not_json');
  t.equal(codeOf('[1,2]'), 'wrong_shape');
  t.equal(codeOf('null'), 'wrong_shape');
  t.equal(codeOf('"online"'), 'wrong_shape');
  t.equal(codeOf('{}'), 'wrong_shape');
  t.equal(codeOf(encodeTelemetry([campus]), { limits: { maxBytes: 100 } }), 'too_large');
  t.equal(codeOf('x'.repeat(300 * 1024)), 'too_large', 'default limit is 256 KiB, checked before parsing');
  const many = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`u${i}`, [{ ts: 1, values: { volumeL: 1, valveOpen: true } }]]));
  t.equal(codeOf(JSON.stringify(many), { limits: { maxUnits: 4 } }), 'too_many_units');
  const rejection = decodeTelemetry('{').rejections[0];
  t.match(rejection.reason, /^not_json: /, 'reason starts with the code');
  t.equal(rejection.unitAddress, undefined);
});

t.test('unit-level rejections name the unit', async (t) => {
  const cases: Array<[string, string, string]> = [
    [campusWith((v) => (v['energyWh'] = -1)), 'out_of_range', 'negative register'],
    [campusWith((v) => (v['energyWh'] = 12.5)), 'out_of_range', 'fractional register'],
    [campusWith((v) => (v['energyWh'] = '123')), 'wrong_type', 'register as a string'],
    [campusWith((v) => delete v['voltageV']), 'missing_field', 'missing voltage'],
    [campusWith((v) => (v['voltageV'] = null)), 'missing_field', 'null voltage'],
    [campusWith((v) => (v['currentA'] = -0.1)), 'out_of_range', 'negative current'],
    [campusWith((v) => (v['powerFactor'] = 1.5)), 'out_of_range', 'power factor above 1'],
    [campusWith((v) => (v['flags'] = { coverOpen: 'no', reverseConnection: false })), 'wrong_type', 'flag as a string'],
    [campusWith((v) => (v['alarmWord'] = 2 ** 33)), 'out_of_range', 'alarm word over 32 bits'],
    [campusWith((v) => ((v['circuits'] as Record<string, unknown>)['heater'] = {})), 'out_of_range', 'unknown circuit'],
    [campusWith((v) => ((v['circuits'] as Record<string, Record<string, unknown>>)['ac']['relayClosed'] = 1)), 'wrong_type', 'relay as a number'],
    [campusWith((v) => (v['volumeL'] = 3)), 'wrong_shape', 'electric and water at once'],
    [campusWith((v) => (v['circuits'] = [])), 'wrong_type', 'circuits as an array'],
    ['{"12": [{"ts": 1, "values": {"energyWh": 1e999, "voltageV": 1, "currentA": 1, "powerW": 1, "powerFactor": 1}}]}', 'out_of_range', 'overflow to Infinity'],
    ['{"12": {"ts": 1}}', 'wrong_type', 'entries not an array'],
    ['{"12": []}', 'wrong_shape', 'no entries'],
    ['{"12": [42]}', 'wrong_type', 'entry not an object'],
    ['{"12": [{"ts": -5, "values": {}}]}', 'out_of_range', 'negative timestamp'],
    ['{"12": [{"ts": "now", "values": {}}]}', 'wrong_type', 'timestamp as a string'],
    ['{"12": [{"ts": 1}]}', 'missing_field', 'no values'],
  ];
  for (const [payload, code, name] of cases) {
    const decoded = decodeTelemetry(payload);
    t.same(
      decoded.rejections.map((r) => [r.code, r.unitAddress]),
      [[code, '12']],
      name,
    );
    t.equal(decoded.readings.length, 0, `${name}: nothing decoded`);
  }
  const samples = { '12': Array.from({ length: 3 }, () => ({ ts: 1, values: { volumeL: 1, valveOpen: true } })) };
  t.equal(decodeTelemetry(JSON.stringify(samples), { limits: { maxSamplesPerUnit: 2 } }).rejections[0]?.code, 'too_many_samples');
  t.equal(decodeTelemetry(JSON.stringify({ 'bad/unit': [] })).rejections[0]?.code, 'bad_unit_address');
  t.equal(decodeTelemetry(JSON.stringify({ ['x'.repeat(65)]: [] })).rejections[0]?.code, 'bad_unit_address');
});

t.test('profile rules and configured units', async (t) => {
  const check = (reading: MeterReading, unit: string): string | undefined =>
    decodeTelemetry(encodeTelemetry([{ ...reading, unitAddress: unit }]), { profileOf }).rejections[0]?.code;
  t.equal(check(water, '12'), 'profile_mismatch', 'water on a campus meter');
  t.equal(check({ ...campus, circuits: campus.circuits.slice(0, 2) }, '12'), 'profile_mismatch', 'campus meter missing a circuit');
  t.equal(check(campus, 'shop-3'), 'profile_mismatch', 'acrel with circuits');
  t.equal(check({ ...acrel, relayClosed: undefined }, 'shop-3'), 'profile_mismatch', 'acrel without relay');
  t.equal(check(acrel, 'sdm'), 'profile_mismatch', 'sdm120 has no relay');
  t.equal(check(campus, 'w1'), 'profile_mismatch', 'electric on a water meter');
  t.equal(check(campus, 'nobody'), 'unknown_unit');
});

t.test('a bad unit does not blind the others', async (t) => {
  const payload = JSON.stringify({ ...JSON.parse(encodeTelemetry([campus, water])), '99': [{ ts: 1, values: { volumeL: -3, valveOpen: true } }] });
  const decoded = decodeTelemetry(payload, { profileOf: (unit) => (unit === '99' ? 'water-valve' : profileOf(unit)) });
  t.same(decoded.readings, [campus, water]);
  t.same(decoded.rejections.map((r) => [r.code, r.unitAddress]), [['out_of_range', '99']]);
});

t.test('decoding never throws, whatever arrives', async (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json(), fc.uint8Array({ maxLength: 200 })), (payload) => {
      const decoded = decodeTelemetry(payload, { profileOf });
      decodeAck(payload);
      decodeCommand(payload);
      decodeStatus(payload);
      return decoded.readings.length + decoded.rejections.length >= 0;
    }),
    { numRuns: 2000 },
  );
  t.pass('no exception');
});

t.test('commands, acks and status', async (t) => {
  const command = { commandId: 'c-1', unitAddress: '12', target: 'socket', action: 'cut' } as const;
  const encoded = encodeCommand(command);
  t.same(JSON.parse(encoded), { id: 'c-1', unit: '12', target: 'socket', action: 'cut' });
  t.same(decodeCommand(encoded), { ok: true, value: { id: 'c-1', unit: '12', target: 'socket', action: 'cut' } });
  const bad = (payload: string): string | undefined => {
    const decoded = decodeCommand(payload);
    return decoded.ok ? undefined : decoded.rejection.code;
  };
  t.equal(bad('{"id":"c","unit":"12","target":"kettle","action":"cut"}'), 'out_of_range');
  t.equal(bad('{"id":"c","unit":"12","target":"ac","action":"explode"}'), 'out_of_range');
  t.equal(bad('{"id":"","unit":"12","target":"ac","action":"cut"}'), 'out_of_range');
  t.equal(bad('{"id":"c","target":"ac","action":"cut"}'), 'missing_field');
  t.equal(bad('{"id":"c","unit":"a/b","target":"ac","action":"cut"}'), 'bad_unit_address');
  t.equal(bad(JSON.stringify({ id: 'c', unit: '1', target: 'ac', action: 'cut', pad: 'x'.repeat(5000) })), 'too_large');

  const ack = { id: 'c-1', ok: true, relayClosed: false };
  t.same(decodeAck(encodeAck(ack)), { ok: true, value: ack });
  t.same(decodeAck('{"id":"v","ok":false,"error":"meter busy"}'), { ok: true, value: { id: 'v', ok: false, error: 'meter busy' } });
  t.same(decodeAck('{"id":"v","ok":true,"valveOpen":true}'), { ok: true, value: { id: 'v', ok: true, valveOpen: true } });
  const ackCode = (payload: string): string | undefined => {
    const decoded = decodeAck(payload);
    return decoded.ok ? undefined : decoded.rejection.code;
  };
  t.equal(ackCode('{"id":"c","ok":"yes"}'), 'wrong_type');
  t.equal(ackCode('{"id":"c","ok":true,"relayClosed":"closed"}'), 'wrong_type');
  t.equal(ackCode('{"ok":true}'), 'missing_field');
  t.equal(ackCode('[]'), 'wrong_shape');
  // Issue 9: a NUL (or any control character) in an ack's text is a counted rejection at the edge,
  // never a text that reaches the ledger.
  t.equal(ackCode(JSON.stringify({ id: 'c', ok: false, error: 'relay \u0000 stuck' })), 'control_character', 'a NUL in error is refused');
  t.equal(ackCode(JSON.stringify({ id: 'c\u001b[2J', ok: true, relayClosed: false })), 'control_character', 'an escape sequence in id is refused');
  t.match(decodeAck(JSON.stringify({ id: 'c', ok: false, error: 'x\u0000' })), { ok: false, rejection: { reason: /^control_character: ack: ack\.error has a control character at 1 \(U\+0000\)/ } }, 'the reason says where');
  t.same(decodeAck(JSON.stringify({ id: 'c', ok: false, error: 'line one\nline two\ttabbed' })), { ok: true, value: { id: 'c', ok: false, error: 'line one\nline two\ttabbed' } }, 'newline and tab stay allowed');
  t.equal(ackCode('garbage'), 'not_json');

  t.same(decodeStatus('online'), { ok: true, value: true });
  t.same(decodeStatus(Buffer.from('offline')), { ok: true, value: false });
  t.same(decodeStatus(''), { ok: true, value: false }, 'cleared retained status reads as offline');
  const status = decodeStatus('maybe');
  t.equal(status.ok ? undefined : status.rejection.code, 'out_of_range');
  const huge = decodeStatus('online'.repeat(10));
  t.equal(huge.ok ? undefined : huge.rejection.code, 'too_large');
});
