import type { ElectricReading } from '../../domain/reading.ts';
import {
  MODBUS_EXCEPTION,
  PLAUSIBLE,
  supplyOn,
  type MeterProfile,
  type RegisterBlock,
  type RegisterDef,
} from './meter-profile.ts';
import { RegisterImage, register } from './register-image.ts';
import { requireElectric } from './reading-guards.ts';

/**
 * Acrel DDSY1352-style single-phase prepaid meter: holding registers (0x03). Measurements
 * from the manual, section 8.1; the forced relay control pair at 0x0057 comes from a
 * decompiled vendor tool and is unverified. Polled as two blocks (0x0000..0x0010 and
 * 0x0057..0x0058), since a real meter may refuse reads across undocumented gaps.
 *
 * Relay: writing [1, 1] forces a trip, [1, 0] forces close; with enable 0 the meter's own
 * prepaid logic drives the relay (this system does not use it, so restore writes [1, 0]
 * and keeps the server in charge). The pair reads back what was written.
 */
const NAME = 'acrel-ddsy1352';

export const ACREL_REGISTERS = {
  totalEnergyKwh: register('total_energy', 0x0000, 'u32', 'kWh', 2, 'r', 'cumulative active energy, 0.01 kWh steps'),
  voltageV: register('voltage', 0x000b, 'u16', 'V', 1, 'r', 'RMS voltage'),
  currentA: register('current', 0x000c, 'u16', 'A', 2, 'r', 'RMS current'),
  powerKw: register('active_power', 0x000d, 'i16', 'kW', 3, 'r', 'active power'),
  powerFactor: register('power_factor', 0x0010, 'i16', '-', 3, 'r', 'power factor'),
  forcedControlEnable: register('forced_control_enable', 0x0057, 'u16', '-', 0, 'rw', '1 forced control, 0 meter logic'),
  forcedControlState: register('forced_control_state', 0x0058, 'u16', '-', 0, 'rw', '0 close, 1 trip (when enabled)'),
} as const satisfies Record<string, RegisterDef>;

export const ACREL_FORCED = { enable: 1, release: 0, close: 0, trip: 1 } as const;

export const ACREL_POLL: readonly RegisterBlock[] = [
  { functionCode: 0x03, address: 0x0000, length: 0x11 },
  { functionCode: 0x03, address: 0x0057, length: 2 },
];

const WH_PER_ENERGY_STEP = 10;

function relayClosed(enable: number, state: number): boolean {
  return !(enable === ACREL_FORCED.enable && state === ACREL_FORCED.trip);
}

export const acrelDdsy1352Profile: MeterProfile = {
  name: NAME,
  reading: 'electric',
  registers: Object.values(ACREL_REGISTERS),
  poll: ACREL_POLL,
  registerWrap: 2 ** 32 * WH_PER_ENERGY_STEP, // u32 of 0.01 kWh steps

  decode(words, unitAddress, at): ElectricReading {
    const image = RegisterImage.fromWords(NAME, ACREL_POLL, words);
    const r = ACREL_REGISTERS;
    const enable = image.valueIn(r.forcedControlEnable, 0, 1);
    const state = image.valueIn(r.forcedControlState, 0, 1);
    return {
      type: 'electric',
      unitAddress,
      at,
      energyWh: image.raw(r.totalEnergyKwh) * WH_PER_ENERGY_STEP,
      voltageV: image.valueIn(r.voltageV, ...PLAUSIBLE.voltageV),
      currentA: image.valueIn(r.currentA, ...PLAUSIBLE.currentA),
      powerW: image.raw(r.powerKw),
      powerFactor: image.valueIn(r.powerFactor, ...PLAUSIBLE.powerFactor),
      circuits: [],
      relayClosed: relayClosed(enable, state),
      flags: { coverOpen: false, reverseConnection: false },
      alarmWord: 0,
    };
  },

  encode(reading) {
    const electric = requireElectric(NAME, reading);
    const image = RegisterImage.blank(NAME, ACREL_POLL);
    const r = ACREL_REGISTERS;
    // Round down: the register never shows energy not yet consumed.
    image.set(r.totalEnergyKwh, Math.floor(electric.energyWh / WH_PER_ENERGY_STEP) / 100);
    image.set(r.voltageV, electric.voltageV);
    image.set(r.currentA, electric.currentA);
    image.set(r.powerKw, electric.powerW / 1000);
    image.set(r.powerFactor, electric.powerFactor);
    // The simulator is always under forced control.
    image.set(r.forcedControlEnable, ACREL_FORCED.enable);
    image.set(r.forcedControlState, electric.relayClosed === false ? ACREL_FORCED.trip : ACREL_FORCED.close);
    return image.words();
  },

  supplyWrite(target, action) {
    if (target !== 'main') return undefined;
    const values = [ACREL_FORCED.enable, supplyOn(action) ? ACREL_FORCED.close : ACREL_FORCED.trip];
    return {
      address: ACREL_REGISTERS.forcedControlEnable.address,
      values,
      readBack: { functionCode: 0x03, address: ACREL_REGISTERS.forcedControlEnable.address, length: 2 },
      expect: values,
    };
  },

  interpretWrite(address, values) {
    if (address !== ACREL_REGISTERS.forcedControlEnable.address || values.length !== 2) {
      return { ok: false, exception: MODBUS_EXCEPTION.illegalDataAddress };
    }
    const [enable, state] = values as [number, number];
    if ((enable !== 0 && enable !== 1) || (state !== 0 && state !== 1)) {
      return { ok: false, exception: MODBUS_EXCEPTION.illegalDataValue };
    }
    return { ok: true, changes: [{ target: 'main', closed: relayClosed(enable, state) }] };
  },
};
