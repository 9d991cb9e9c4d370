import { CIRCUIT_KINDS, type CircuitKind, type CircuitSample, type ElectricReading } from '../../domain/reading.ts';
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
 * Our own 1-in-3-out campus meter (DDSY1946A-13 class): holding registers, read with
 * function 0x03, relay control written with 0x10. The billed incoming line sits at
 * 0x0000..0x0007, then one 16-register slot per circuit (lighting 0x0010, socket 0x0020,
 * air conditioner 0x0030) of which the first 8 are used. One request of 56 registers
 * (0x0000..0x0037) reads everything. Full table: docs/register-map.md.
 */
const NAME = 'campus-1in3out';

export const CAMPUS_INCOMING = {
  energyWh: register('incoming.energy', 0x0000, 'u32', 'Wh', 0, 'r', 'cumulative energy of the billed incoming line'),
  voltageV: register('incoming.voltage', 0x0002, 'u16', 'V', 1, 'r', 'RMS voltage'),
  currentA: register('incoming.current', 0x0003, 'u16', 'A', 2, 'r', 'RMS current'),
  powerW: register('incoming.power', 0x0004, 'i16', 'W', 0, 'r', 'active power, negative when reverse-connected'),
  powerFactor: register('incoming.pf', 0x0005, 'i16', '-', 3, 'r', 'signed power factor -1.000..1.000'),
  statusFlags: register('status.flags', 0x0006, 'u16', 'bits', 0, 'r', 'bit0 cover open, bit1 reverse connection'),
  alarmWord: register('status.alarm', 0x0007, 'u16', 'bits', 0, 'r', 'alarm bits, 0 = none'),
} as const satisfies Record<string, RegisterDef>;

export const CAMPUS_STATUS_BIT = { coverOpen: 0x0001, reverseConnection: 0x0002 } as const;

/** Alarm word bits as our meter sets them; the driver passes the word through raw. */
export const CAMPUS_ALARM_BIT = {
  overCurrent: 0x0001,
  overPower: 0x0002,
  overVoltage: 0x0004,
  underVoltage: 0x0008,
  /** A relay's sensed state differs from its control register. */
  relayFault: 0x0010,
} as const;

/** Relay state / control register values. */
export const CAMPUS_RELAY = { open: 0, closed: 1 } as const;

export const CAMPUS_CIRCUIT_BASE: Readonly<Record<CircuitKind, number>> = { lighting: 0x0010, socket: 0x0020, ac: 0x0030 };

export interface CampusCircuitRegisters {
  readonly energyWh: RegisterDef;
  readonly voltageV: RegisterDef;
  readonly currentA: RegisterDef;
  readonly powerW: RegisterDef;
  readonly powerFactor: RegisterDef;
  /** 1 closed, 0 open: the relay as the meter senses it. */
  readonly relayState: RegisterDef;
  /** Write 1 close / 0 open; reads back the last command. */
  readonly relayControl: RegisterDef;
}

function circuitRegisters(kind: CircuitKind): CampusCircuitRegisters {
  const base = CAMPUS_CIRCUIT_BASE[kind];
  return {
    energyWh: register(`${kind}.energy`, base, 'u32', 'Wh', 0, 'r', `cumulative energy of the ${kind} circuit`),
    voltageV: register(`${kind}.voltage`, base + 2, 'u16', 'V', 1, 'r', 'RMS voltage'),
    currentA: register(`${kind}.current`, base + 3, 'u16', 'A', 2, 'r', 'RMS current'),
    powerW: register(`${kind}.power`, base + 4, 'i16', 'W', 0, 'r', 'active power'),
    powerFactor: register(`${kind}.pf`, base + 5, 'i16', '-', 3, 'r', 'signed power factor'),
    relayState: register(`${kind}.relay_state`, base + 6, 'u16', '-', 0, 'r', 'relay: 1 closed, 0 open'),
    relayControl: register(`${kind}.relay_control`, base + 7, 'u16', '-', 0, 'rw', 'write 1 close / 0 open; reads back the last command'),
  };
}

export const CAMPUS_CIRCUITS: Readonly<Record<CircuitKind, CampusCircuitRegisters>> = {
  lighting: circuitRegisters('lighting'),
  socket: circuitRegisters('socket'),
  ac: circuitRegisters('ac'),
};

export const CAMPUS_POLL: readonly RegisterBlock[] = [{ functionCode: 0x03, address: 0x0000, length: 0x38 }];

function decodeCircuit(image: RegisterImage, kind: CircuitKind): CircuitSample {
  const regs = CAMPUS_CIRCUITS[kind];
  return {
    kind,
    voltageV: image.valueIn(regs.voltageV, ...PLAUSIBLE.voltageV),
    currentA: image.valueIn(regs.currentA, ...PLAUSIBLE.currentA),
    powerW: image.valueIn(regs.powerW, ...PLAUSIBLE.powerW),
    powerFactor: image.valueIn(regs.powerFactor, ...PLAUSIBLE.powerFactor),
    energyWh: image.value(regs.energyWh),
    relayClosed: image.valueIn(regs.relayState, CAMPUS_RELAY.open, CAMPUS_RELAY.closed) === CAMPUS_RELAY.closed,
  };
}

function encodeCircuit(image: RegisterImage, sample: CircuitSample): void {
  const regs = CAMPUS_CIRCUITS[sample.kind];
  const relay = sample.relayClosed ? CAMPUS_RELAY.closed : CAMPUS_RELAY.open;
  image.set(regs.energyWh, sample.energyWh);
  image.set(regs.voltageV, sample.voltageV);
  image.set(regs.currentA, sample.currentA);
  image.set(regs.powerW, sample.powerW);
  image.set(regs.powerFactor, sample.powerFactor);
  image.set(regs.relayState, relay);
  // The simulated relay obeys at once, so the last command equals the state.
  image.set(regs.relayControl, relay);
}

export const campus1in3outProfile: MeterProfile = {
  name: NAME,
  reading: 'electric',
  registers: [...Object.values(CAMPUS_INCOMING), ...CIRCUIT_KINDS.flatMap((kind) => Object.values(CAMPUS_CIRCUITS[kind]))],
  poll: CAMPUS_POLL,
  registerWrap: 2 ** 32, // u32 of Wh

  decode(words, unitAddress, at): ElectricReading {
    const image = RegisterImage.fromWords(NAME, CAMPUS_POLL, words);
    const flags = image.raw(CAMPUS_INCOMING.statusFlags);
    return {
      type: 'electric',
      unitAddress,
      at,
      energyWh: image.value(CAMPUS_INCOMING.energyWh),
      voltageV: image.valueIn(CAMPUS_INCOMING.voltageV, ...PLAUSIBLE.voltageV),
      currentA: image.valueIn(CAMPUS_INCOMING.currentA, ...PLAUSIBLE.currentA),
      powerW: image.valueIn(CAMPUS_INCOMING.powerW, ...PLAUSIBLE.powerW),
      powerFactor: image.valueIn(CAMPUS_INCOMING.powerFactor, ...PLAUSIBLE.powerFactor),
      circuits: CIRCUIT_KINDS.map((kind) => decodeCircuit(image, kind)),
      flags: {
        coverOpen: (flags & CAMPUS_STATUS_BIT.coverOpen) !== 0,
        reverseConnection: (flags & CAMPUS_STATUS_BIT.reverseConnection) !== 0,
      },
      alarmWord: image.raw(CAMPUS_INCOMING.alarmWord),
    };
  },

  encode(reading) {
    const electric = requireElectric(NAME, reading);
    const image = RegisterImage.blank(NAME, CAMPUS_POLL);
    image.set(CAMPUS_INCOMING.energyWh, electric.energyWh);
    image.set(CAMPUS_INCOMING.voltageV, electric.voltageV);
    image.set(CAMPUS_INCOMING.currentA, electric.currentA);
    image.set(CAMPUS_INCOMING.powerW, electric.powerW);
    image.set(CAMPUS_INCOMING.powerFactor, electric.powerFactor);
    image.set(
      CAMPUS_INCOMING.statusFlags,
      (electric.flags.coverOpen ? CAMPUS_STATUS_BIT.coverOpen : 0) |
        (electric.flags.reverseConnection ? CAMPUS_STATUS_BIT.reverseConnection : 0),
    );
    image.set(CAMPUS_INCOMING.alarmWord, electric.alarmWord);
    for (const sample of electric.circuits) encodeCircuit(image, sample);
    return image.words();
  },

  supplyWrite(target, action) {
    if (target !== 'lighting' && target !== 'socket' && target !== 'ac') return undefined;
    const regs = CAMPUS_CIRCUITS[target];
    const value = supplyOn(action) ? CAMPUS_RELAY.closed : CAMPUS_RELAY.open;
    return {
      address: regs.relayControl.address,
      values: [value],
      // state and control are adjacent: both must show the command.
      readBack: { functionCode: 0x03, address: regs.relayState.address, length: 2 },
      expect: [value, value],
    };
  },

  interpretWrite(address, values) {
    const kind = CIRCUIT_KINDS.find((k) => CAMPUS_CIRCUITS[k].relayControl.address === address);
    if (kind === undefined || values.length !== 1) return { ok: false, exception: MODBUS_EXCEPTION.illegalDataAddress };
    const value = values[0];
    if (value !== CAMPUS_RELAY.open && value !== CAMPUS_RELAY.closed) {
      return { ok: false, exception: MODBUS_EXCEPTION.illegalDataValue };
    }
    return { ok: true, changes: [{ target: kind, closed: value === CAMPUS_RELAY.closed }] };
  },
};
