import type { WaterReading } from '../../domain/reading.ts';
import { MODBUS_EXCEPTION, supplyOn, type MeterProfile, type RegisterBlock, type RegisterDef } from './meter-profile.ts';
import { RegisterImage, register } from './register-image.ts';
import { requireWater } from './reading-guards.ts';

/**
 * Our prepaid water meter with a motorised valve: holding registers (0x03 read, 0x10
 * write). Cumulative volume in whole litres; the valve control register reads back the
 * last command, the valve state register what the valve's end switches report.
 */
const NAME = 'water-valve';

export const WATER_REGISTERS = {
  volumeL: register('volume', 0x0000, 'u32', 'L', 0, 'r', 'cumulative volume'),
  valveState: register('valve_state', 0x0002, 'u16', '-', 0, 'r', 'valve: 1 open, 0 closed'),
  valveControl: register('valve_control', 0x0003, 'u16', '-', 0, 'rw', 'write 1 open / 0 close; reads back the last command'),
} as const satisfies Record<string, RegisterDef>;

export const WATER_VALVE = { closed: 0, open: 1 } as const;

export const WATER_POLL: readonly RegisterBlock[] = [{ functionCode: 0x03, address: 0x0000, length: 4 }];

/**
 * SimulatedMeterView.setSupply(target, closed) speaks relay language: `closed = true` means
 * supply on. For a valve that is "valve open" (the simulator's water meter reads it so).
 */
export function valveSetSupplyArgument(valveOpen: boolean): boolean {
  return valveOpen;
}

export const waterValveProfile: MeterProfile = {
  name: NAME,
  reading: 'water',
  registers: Object.values(WATER_REGISTERS),
  poll: WATER_POLL,
  registerWrap: 2 ** 32, // u32 of litres

  decode(words, unitAddress, at): WaterReading {
    const image = RegisterImage.fromWords(NAME, WATER_POLL, words);
    return {
      type: 'water',
      unitAddress,
      at,
      volumeL: image.value(WATER_REGISTERS.volumeL),
      valveOpen: image.valueIn(WATER_REGISTERS.valveState, WATER_VALVE.closed, WATER_VALVE.open) === WATER_VALVE.open,
    };
  },

  encode(reading) {
    const water = requireWater(NAME, reading);
    const image = RegisterImage.blank(NAME, WATER_POLL);
    const valve = water.valveOpen ? WATER_VALVE.open : WATER_VALVE.closed;
    image.set(WATER_REGISTERS.volumeL, water.volumeL);
    image.set(WATER_REGISTERS.valveState, valve);
    image.set(WATER_REGISTERS.valveControl, valve);
    return image.words();
  },

  supplyWrite(target, action) {
    if (target !== 'valve') return undefined;
    const value = supplyOn(action) ? WATER_VALVE.open : WATER_VALVE.closed;
    return {
      address: WATER_REGISTERS.valveControl.address,
      values: [value],
      readBack: { functionCode: 0x03, address: WATER_REGISTERS.valveState.address, length: 2 },
      expect: [value, value],
    };
  },

  interpretWrite(address, values) {
    if (address !== WATER_REGISTERS.valveControl.address || values.length !== 1) {
      return { ok: false, exception: MODBUS_EXCEPTION.illegalDataAddress };
    }
    const value = values[0];
    if (value !== WATER_VALVE.open && value !== WATER_VALVE.closed) {
      return { ok: false, exception: MODBUS_EXCEPTION.illegalDataValue };
    }
    return { ok: true, changes: [{ target: 'valve', closed: valveSetSupplyArgument(value === WATER_VALVE.open) }] };
  },
};
