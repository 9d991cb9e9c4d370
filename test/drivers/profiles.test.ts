import { deepStrictEqual } from 'node:assert/strict';
import t from 'tap';
import fc from 'fast-check';
import type { MeterProfileName } from '../../src/drivers/gateway-driver.ts';
import type { CIRCUIT_KINDS} from '../../src/domain/reading.ts';
import { type ElectricReading } from '../../src/domain/reading.ts';
import {
  FrameRejectedError,
  METER_PROFILES,
  MODBUS_EXCEPTION,
  blockWords,
  meterProfile,
  wordOffset,
} from '../../src/drivers/profiles/index.ts';
import { CAMPUS_CIRCUITS, CAMPUS_INCOMING, campus1in3outProfile } from '../../src/drivers/profiles/campus-1in3out.profile.ts';
import { SDM120_REGISTERS, sdm120Profile } from '../../src/drivers/profiles/sdm120.profile.ts';
import { ACREL_REGISTERS, acrelDdsy1352Profile } from '../../src/drivers/profiles/acrel-ddsy1352.profile.ts';
import { waterValveProfile } from '../../src/drivers/profiles/water-valve.profile.ts';
import { RegisterImage } from '../../src/drivers/profiles/register-image.ts';
import { acrelReading, campusReading, sdm120Reading, waterReading, AT } from '../simulator/fake-simulated-gateway.ts';

const NAMES: readonly MeterProfileName[] = ['campus-1in3out', 'sdm120', 'acrel-ddsy1352', 'water-valve'];

/** The FrameRejectedError reason `fn` throws ('' if it returns, the error if another kind). */
function rejection(fn: () => unknown): string {
  try {
    fn();
    return '';
  } catch (error) {
    return error instanceof FrameRejectedError ? error.reason : `not a FrameRejectedError: ${String(error)}`;
  }
}

t.test('registry: every profile name, blocks fit one request, registers inside the polled words', async (t) => {
  for (const name of NAMES) {
    const profile = meterProfile(name);
    t.equal(profile.name, name);
    t.equal(METER_PROFILES[name], profile);
    for (const block of profile.poll) t.ok(block.length >= 1 && block.length <= 125, `${name} block of ${block.length} registers`);
    const used = new Set<number>();
    for (const def of profile.registers) {
      const width = def.type === 'u32' || def.type === 'f32' ? 2 : 1;
      t.not(wordOffset(profile.poll, def.address, width), undefined, `${name}.${def.name} is polled`);
      for (let a = def.address; a < def.address + width; a++) {
        t.notOk(used.has(a), `${name}: register 0x${a.toString(16)} defined once`);
        used.add(a);
      }
    }
  }
  t.equal(campus1in3outProfile.poll.length, 1, 'campus meter: one contiguous block');
  t.equal(blockWords(campus1in3outProfile.poll), 56);
});

t.test('round trips: decode(encode(reading)) gives the reading back', async (t) => {
  const cases = [
    [campus1in3outProfile, campusReading('1')],
    [sdm120Profile, sdm120Reading('2')],
    [acrelDdsy1352Profile, acrelReading('3')],
    [acrelDdsy1352Profile, acrelReading('3', { relayClosed: false, powerW: -15, powerFactor: -0.5 })],
    [waterValveProfile, waterReading('4')],
    [waterValveProfile, waterReading('4', { valveOpen: false })],
  ] as const;
  for (const [profile, reading] of cases) {
    const words = profile.encode(reading);
    t.equal(words.length, blockWords(profile.poll), `${profile.name}: one word per polled register`);
    t.strictSame(profile.decode(words, reading.unitAddress, AT), reading, `${profile.name} round trip`);
  }
});

t.test('wire layout: word order, scaling and the references', async (t) => {
  const campus = campus1in3outProfile.encode(campusReading('1', { energyWh: 0x12345, voltageV: 230.1, powerFactor: -0.5 }));
  t.strictSame(campus.slice(0, 2), [0x0001, 0x2345], 'u32 Wh, high word first');
  t.equal(campus[CAMPUS_INCOMING.voltageV.address], 2301, 'voltage x0.1 V');
  t.equal(campus[CAMPUS_INCOMING.powerFactor.address], 0x10000 - 500, 'PF int16 x0.001');
  t.equal(campus[CAMPUS_CIRCUITS.ac.relayState.address], 1);

  const sdm = sdm120Profile.encode(sdm120Reading('1', { voltageV: 230 }));
  t.strictSame(sdm.slice(0, 2), [0x4366, 0x0000], 'SDM120 230.0 V reads 43 66 00 00 (REFERENCE.md)');

  const acrel = acrelDdsy1352Profile.encode(acrelReading('1', { energyWh: 98_765, powerW: 702, relayClosed: false }));
  t.strictSame(acrel.slice(0, 2), [0, 9876], 'energy in 0.01 kWh, rounded down');
  t.equal(acrel[ACREL_REGISTERS.powerKw.address], 702, 'power int16 x0.001 kW');
  t.strictSame(acrel.slice(-2), [1, 1], 'forced control: enabled, trip');
  const decoded = acrelDdsy1352Profile.decode(acrel, '1', AT);
  t.equal(decoded.type === 'electric' ? decoded.energyWh : -1, 98_760, '10 Wh resolution');
});

t.test('decode accepts a Buffer of big-endian words too', async (t) => {
  const words = waterValveProfile.encode(waterReading('9'));
  const buffer = Buffer.alloc(words.length * 2);
  words.forEach((w, i) => buffer.writeUInt16BE(w, 2 * i));
  const image = RegisterImage.fromWords('water-valve', waterValveProfile.poll, buffer);
  t.strictSame(image.words(), words);
  t.strictSame(waterValveProfile.decode(image.words(), '9', AT), waterReading('9'));
  t.match(rejection(() => RegisterImage.fromWords('water-valve', waterValveProfile.poll, Buffer.alloc(7))), /odd byte count/, 'odd byte count');
});

t.test('rejections: implausible or malformed data is a FrameRejectedError', async (t) => {
  const campus = campus1in3outProfile.encode(campusReading('1'));
  t.match(rejection(() => campus1in3outProfile.decode(campus.slice(1), '1', AT)), /expected 56 registers, got 55/, 'wrong length');
  t.match(rejection(() => campus1in3outProfile.decode([...campus, 0], '1', AT)), /expected 56/, 'too long');
  const badPf = [...campus];
  badPf[CAMPUS_CIRCUITS.socket.powerFactor.address] = 1500;
  t.match(rejection(() => campus1in3outProfile.decode(badPf, '1', AT)), /socket\.pf = 1\.5/, 'PF above 1');
  const badRelay = [...campus];
  badRelay[CAMPUS_CIRCUITS.lighting.relayState.address] = 2;
  t.match(rejection(() => campus1in3outProfile.decode(badRelay, '1', AT)), /lighting\.relay_state/, 'relay state not 0/1');
  const notWord = [...campus];
  notWord[3] = 70_000;
  t.match(rejection(() => campus1in3outProfile.decode(notWord, '1', AT)), /not a 16-bit word/, 'word out of range');
  notWord[3] = 1.5;
  t.match(rejection(() => campus1in3outProfile.decode(notWord, '1', AT)), /not a 16-bit word/, 'fractional word');

  const sdm = sdm120Profile.encode(sdm120Reading('1'));
  const nan = [...sdm];
  nan[SDM120_REGISTERS.voltageV.address] = 0x7fc0;
  nan[SDM120_REGISTERS.voltageV.address + 1] = 0;
  t.match(rejection(() => sdm120Profile.decode(nan, '1', AT)), /voltage is NaN/, 'NaN float');
  const inf = [...sdm];
  inf[SDM120_REGISTERS.importEnergyKwh.address] = 0x7f80;
  inf[SDM120_REGISTERS.importEnergyKwh.address + 1] = 0;
  t.match(rejection(() => sdm120Profile.decode(inf, '1', AT)), /import_energy is Infinity/, 'infinite energy');
  const hugeVolts = sdm120Profile.encode(sdm120Reading('1', { voltageV: 5000 }));
  t.match(rejection(() => sdm120Profile.decode(hugeVolts, '1', AT)), /voltage = 5000 V is outside/, 'implausible voltage');
  const negativeEnergy = sdm120Profile.encode(sdm120Reading('1', { energyWh: -5 }));
  t.match(rejection(() => sdm120Profile.decode(negativeEnergy, '1', AT)), /import_energy/, 'negative energy register');

  const acrel = acrelDdsy1352Profile.encode(acrelReading('1'));
  const badEnable = [...acrel];
  badEnable[badEnable.length - 2] = 7;
  t.match(rejection(() => acrelDdsy1352Profile.decode(badEnable, '1', AT)), /forced_control_enable/, 'forced control enable not 0/1');
  const badPfAcrel = [...acrel];
  badPfAcrel[ACREL_REGISTERS.powerFactor.address] = 0x10000 - 1001;
  t.match(rejection(() => acrelDdsy1352Profile.decode(badPfAcrel, '1', AT)), /power_factor = -1\.001/, 'PF below -1');

  const water = waterValveProfile.encode(waterReading('1'));
  t.match(rejection(() => waterValveProfile.decode([...water.slice(0, 2), 3, 1], '1', AT)), /valve_state/, 'valve state not 0/1');
  t.match(rejection(() => waterValveProfile.decode([], '1', AT)), /expected 4 registers, got 0/, 'empty reply');
});

t.test('encode refuses a reading of the wrong kind', async (t) => {
  t.throws(() => campus1in3outProfile.encode(waterReading('1')), TypeError);
  t.throws(() => waterValveProfile.encode(campusReading('1')), TypeError);
});

t.test('supply commands: writes and read-back', async (t) => {
  t.strictSame(campus1in3outProfile.supplyWrite('lighting', 'cut'), {
    address: 0x0017,
    values: [0],
    readBack: { functionCode: 0x03, address: 0x0016, length: 2 },
    expect: [0, 0],
  });
  t.strictSame(campus1in3outProfile.supplyWrite('ac', 'restore')?.address, 0x0037);
  t.equal(campus1in3outProfile.supplyWrite('main', 'cut'), undefined, 'campus meter has no main relay');
  t.equal(campus1in3outProfile.supplyWrite('valve', 'cut'), undefined);
  t.equal(sdm120Profile.supplyWrite('main', 'cut'), undefined, 'SDM120 is read-only');
  t.strictSame(acrelDdsy1352Profile.supplyWrite('main', 'cut'), {
    address: 0x0057,
    values: [1, 1],
    readBack: { functionCode: 0x03, address: 0x0057, length: 2 },
    expect: [1, 1],
  });
  t.strictSame(acrelDdsy1352Profile.supplyWrite('main', 'restore')?.values, [1, 0]);
  t.strictSame(waterValveProfile.supplyWrite('valve', 'cut')?.values, [0]);
  t.strictSame(waterValveProfile.supplyWrite('valve', 'restore')?.expect, [1, 1]);
  t.equal(waterValveProfile.supplyWrite('main', 'restore'), undefined);
});

t.test('simulator side: writes become setSupply changes or exceptions', async (t) => {
  t.strictSame(campus1in3outProfile.interpretWrite(0x0027, [0]), { ok: true, changes: [{ target: 'socket', closed: false }] });
  t.strictSame(campus1in3outProfile.interpretWrite(0x0026, [0]), { ok: false, exception: MODBUS_EXCEPTION.illegalDataAddress }, 'state is read-only');
  t.strictSame(campus1in3outProfile.interpretWrite(0x0017, [2]), { ok: false, exception: MODBUS_EXCEPTION.illegalDataValue });
  t.strictSame(campus1in3outProfile.interpretWrite(0x0017, [1, 1]), { ok: false, exception: MODBUS_EXCEPTION.illegalDataAddress });
  t.strictSame(sdm120Profile.interpretWrite(0, [1]), { ok: false, exception: MODBUS_EXCEPTION.illegalFunction });
  t.strictSame(acrelDdsy1352Profile.interpretWrite(0x0057, [1, 1]), { ok: true, changes: [{ target: 'main', closed: false }] });
  t.strictSame(acrelDdsy1352Profile.interpretWrite(0x0057, [0, 1]), { ok: true, changes: [{ target: 'main', closed: true }] }, 'released');
  t.strictSame(acrelDdsy1352Profile.interpretWrite(0x0057, [1]), { ok: false, exception: MODBUS_EXCEPTION.illegalDataAddress });
  t.strictSame(waterValveProfile.interpretWrite(0x0003, [1]), { ok: true, changes: [{ target: 'valve', closed: true }] }, 'valve open = supply closed');
});

t.test('campus meter round trip holds for any in-range register values', async (t) => {
  const circuit = (kind: (typeof CIRCUIT_KINDS)[number]) =>
    fc.record({
      kind: fc.constant(kind),
      voltageV: fc.integer({ min: 0, max: 5000 }).map((v) => v / 10),
      currentA: fc.integer({ min: 0, max: 65535 }).map((v) => v / 100),
      powerW: fc.integer({ min: -32768, max: 32767 }),
      powerFactor: fc.integer({ min: -1000, max: 1000 }).map((v) => v / 1000),
      energyWh: fc.integer({ min: 0, max: 0xffffffff }),
      relayClosed: fc.boolean(),
    });
  const reading = fc.record({
    type: fc.constant('electric' as const),
    unitAddress: fc.constant('7'),
    at: fc.constant(AT),
    energyWh: fc.integer({ min: 0, max: 0xffffffff }),
    voltageV: fc.integer({ min: 0, max: 5000 }).map((v) => v / 10),
    currentA: fc.integer({ min: 0, max: 65535 }).map((v) => v / 100),
    powerW: fc.integer({ min: -32768, max: 32767 }),
    powerFactor: fc.integer({ min: -1000, max: 1000 }).map((v) => v / 1000),
    circuits: fc.tuple(circuit('lighting'), circuit('socket'), circuit('ac')),
    flags: fc.record({ coverOpen: fc.boolean(), reverseConnection: fc.boolean() }),
    alarmWord: fc.integer({ min: 0, max: 0xffff }),
  });
  fc.assert(
    fc.property(reading, (r) => {
      const decoded = campus1in3outProfile.decode(campus1in3outProfile.encode(r as ElectricReading), '7', AT);
      deepStrictEqual(decoded, JSON.parse(JSON.stringify(r)));
    }),
    { numRuns: 300 },
  );
  t.pass('300 random readings survived encode/decode');
});
