import type { ElectricReading } from '../../domain/reading.ts';
import { MODBUS_EXCEPTION, PLAUSIBLE, type MeterProfile, type RegisterBlock, type RegisterDef } from './meter-profile.ts';
import { RegisterImage, register } from './register-image.ts';
import { requireElectric } from './reading-guards.ts';

/**
 * Eastron SDM120 single-phase meter: read-only, IEEE754 float32 input registers (function
 * 0x04), two registers each, big-endian (ABCD). Sources: volkszaehler/mbmd sdm.go,
 * nmakel/sdm_modbus. No relay. One request of 74 registers (0x0000..0x0049) covers the
 * values we use; the registers between them read as 0.0 on the simulator.
 *
 * The import energy register is a float32 in kWh: above ~8,388 kWh its resolution is
 * coarser than 1 Wh, so billing from an SDM120 is quantised accordingly.
 */
const NAME = 'sdm120';

export const SDM120_REGISTERS = {
  voltageV: register('voltage', 0x0000, 'f32', 'V', 0, 'r', 'RMS voltage'),
  currentA: register('current', 0x0006, 'f32', 'A', 0, 'r', 'RMS current'),
  powerW: register('active_power', 0x000c, 'f32', 'W', 0, 'r', 'active power'),
  powerFactor: register('power_factor', 0x001e, 'f32', '-', 0, 'r', 'power factor'),
  frequencyHz: register('frequency', 0x0046, 'f32', 'Hz', 0, 'r', 'line frequency'),
  importEnergyKwh: register('import_energy', 0x0048, 'f32', 'kWh', 0, 'r', 'cumulative import active energy'),
} as const satisfies Record<string, RegisterDef>;

/** MeterReading has no frequency; the simulator reports this while the line is live. */
export const SDM120_NOMINAL_FREQUENCY_HZ = 50;

export const SDM120_POLL: readonly RegisterBlock[] = [{ functionCode: 0x04, address: 0x0000, length: 0x4a }];

const MAX_ENERGY_KWH = 10_000_000;

function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

export const sdm120Profile: MeterProfile = {
  name: NAME,
  reading: 'electric',
  registers: Object.values(SDM120_REGISTERS),
  poll: SDM120_POLL,
  registerWrap: null, // float32 kWh: saturates, never wraps

  decode(words, unitAddress, at): ElectricReading {
    const image = RegisterImage.fromWords(NAME, SDM120_POLL, words);
    const r = SDM120_REGISTERS;
    image.valueIn(r.frequencyHz, ...PLAUSIBLE.frequencyHz);
    // float32 carries ~7 significant digits: round to what the meter can resolve.
    return {
      type: 'electric',
      unitAddress,
      at,
      energyWh: Math.round(image.valueIn(r.importEnergyKwh, 0, MAX_ENERGY_KWH) * 1000),
      voltageV: roundTo(image.valueIn(r.voltageV, ...PLAUSIBLE.voltageV), 2),
      currentA: roundTo(image.valueIn(r.currentA, ...PLAUSIBLE.currentA), 3),
      powerW: roundTo(image.valueIn(r.powerW, ...PLAUSIBLE.powerW), 1),
      powerFactor: roundTo(image.valueIn(r.powerFactor, ...PLAUSIBLE.powerFactor), 3),
      circuits: [],
      flags: { coverOpen: false, reverseConnection: false },
      alarmWord: 0,
    };
  },

  encode(reading) {
    const electric = requireElectric(NAME, reading);
    const image = RegisterImage.blank(NAME, SDM120_POLL);
    const r = SDM120_REGISTERS;
    image.set(r.voltageV, electric.voltageV);
    image.set(r.currentA, electric.currentA);
    image.set(r.powerW, electric.powerW);
    image.set(r.powerFactor, electric.powerFactor);
    image.set(r.frequencyHz, electric.voltageV > 0 ? SDM120_NOMINAL_FREQUENCY_HZ : 0);
    image.set(r.importEnergyKwh, electric.energyWh / 1000);
    return image.words();
  },

  supplyWrite() {
    return undefined;
  },

  interpretWrite() {
    return { ok: false, exception: MODBUS_EXCEPTION.illegalFunction };
  },
};
