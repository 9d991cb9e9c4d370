import { controlCharacterIndex } from '../domain/control-characters.ts';
import { CIRCUIT_KINDS } from '../domain/reading.ts';
import type {
  CircuitKind,
  CircuitSample,
  ElectricReading,
  MeterReading,
  SupplyAction,
  SupplyTarget,
  WaterReading,
} from '../domain/reading.ts';
import type { MeterProfileName, SupplyCommand } from './gateway-driver.ts';

/**
 * JSON codec for the MQTT payloads in docs/mqtt.md. Decoding is strict and never throws:
 * anything that is not exactly what the document says becomes a `PayloadRejection` with a
 * code and a human reason (`"<code>: <detail>"`), which the driver hands to
 * `listener.frameRejected`. Unknown extra keys are ignored (forward compatibility); a
 * missing, mistyped or out-of-range known key rejects.
 *
 * Telemetry is decoded unit by unit: a payload-level failure (too large, not JSON, wrong
 * shape, too many units) rejects everything; a failure inside one unit's entries rejects
 * that unit (all its entries) and keeps the others, so one broken meter cannot blind a
 * whole gateway.
 */

export type PayloadRejectionCode =
  | 'too_large'
  | 'not_json'
  | 'wrong_shape'
  | 'too_many_units'
  | 'too_many_samples'
  | 'bad_unit_address'
  | 'missing_field'
  | 'wrong_type'
  | 'out_of_range'
  | 'unknown_unit'
  | 'profile_mismatch'
  | 'control_character';

export interface PayloadRejection {
  readonly code: PayloadRejectionCode;
  /** `"<code>: <detail>"`, ready for `frameRejected(reason)`. */
  readonly reason: string;
  readonly unitAddress?: string;
}

export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly rejection: PayloadRejection };

export interface TelemetryLimits {
  /** Payload size in bytes, checked before parsing. */
  readonly maxBytes: number;
  /** Distinct unit addresses in one payload. */
  readonly maxUnits: number;
  /** Entries (`{ts, values}`) per unit in one payload. */
  readonly maxSamplesPerUnit: number;
}

export const DEFAULT_TELEMETRY_LIMITS: TelemetryLimits = Object.freeze({
  maxBytes: 256 * 1024,
  maxUnits: 256,
  maxSamplesPerUnit: 60,
});

/** Commands, acknowledgements and status are small; anything bigger is hostile. */
export const MAX_CONTROL_PAYLOAD_BYTES = 4096;

export interface TelemetryDecodeOptions {
  readonly limits?: Partial<TelemetryLimits>;
  /**
   * The profile configured for a unit, or undefined when the unit is not configured (then
   * the unit is rejected as `unknown_unit`). Without this function any well-formed unit is
   * accepted and no profile rules apply.
   */
  readonly profileOf?: (unitAddress: string) => MeterProfileName | undefined;
}

export interface TelemetryDecoded {
  readonly readings: MeterReading[];
  readonly rejections: PayloadRejection[];
}

/** What travels on `<prefix>/<gatewayId>/command`. */
export interface CommandMessage {
  readonly id: string;
  readonly unit: string;
  readonly target: SupplyTarget;
  readonly action: SupplyAction;
}

/**
 * What travels on `<prefix>/<gatewayId>/ack`. `relayClosed` (relay targets) or `valveOpen`
 * (valve) is the state read back from the meter after executing the command.
 */
export interface AckMessage {
  readonly id: string;
  readonly ok: boolean;
  readonly relayClosed?: boolean;
  readonly valveOpen?: boolean;
  readonly error?: string;
}

export const STATUS_ONLINE = 'online';
export const STATUS_OFFLINE = 'offline';

const UNIT_ADDRESS_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
const COMMAND_ID_MAX_LENGTH = 128;
const ERROR_TEXT_MAX_LENGTH = 256;
const SUPPLY_TARGETS: readonly SupplyTarget[] = [...CIRCUIT_KINDS, 'main', 'valve'];
const SUPPLY_ACTIONS: readonly SupplyAction[] = ['cut', 'restore'];
const MAX_ALARM_WORD = 0xffff_ffff;

/** Thrown inside a decoder, caught at the unit or payload boundary; never escapes. */
class Reject extends Error {
  constructor(
    readonly code: PayloadRejectionCode,
    readonly detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

function rejection(code: PayloadRejectionCode, detail: string, unitAddress?: string): PayloadRejection {
  const reason = `${code}: ${detail}`;
  return unitAddress === undefined ? { code, reason } : { code, reason, unitAddress };
}

type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function byteLength(payload: Uint8Array | string): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload, 'utf8') : payload.byteLength;
}

function parseJson(payload: Uint8Array | string, maxBytes: number): unknown {
  const size = byteLength(payload);
  if (size > maxBytes) throw new Reject('too_large', `${size} bytes exceeds the limit of ${maxBytes}`);
  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Reject('not_json', 'payload is not valid JSON');
  }
}

// ---- field readers: `path` names the field in the rejection ----

function field(obj: Json, key: string, path: string): unknown {
  if (!Object.hasOwn(obj, key) || obj[key] === undefined || obj[key] === null) throw new Reject('missing_field', `${path}.${key} is missing`);
  return obj[key];
}

function finite(obj: Json, key: string, path: string): number {
  const value = field(obj, key, path);
  if (typeof value !== 'number') throw new Reject('wrong_type', `${path}.${key} must be a number`);
  if (!Number.isFinite(value)) throw new Reject('out_of_range', `${path}.${key} must be finite`);
  return value;
}

function nonNegative(obj: Json, key: string, path: string): number {
  const value = finite(obj, key, path);
  if (value < 0) throw new Reject('out_of_range', `${path}.${key} must not be negative`);
  return value;
}

/** Cumulative registers and timestamps: non-negative safe integers. */
function register(obj: Json, key: string, path: string): number {
  const value = nonNegative(obj, key, path);
  if (!Number.isSafeInteger(value)) throw new Reject('out_of_range', `${path}.${key} must be an integer`);
  return value;
}

function powerFactor(obj: Json, key: string, path: string): number {
  const value = finite(obj, key, path);
  if (value < -1 || value > 1) throw new Reject('out_of_range', `${path}.${key} must be within -1..1`);
  return value;
}

function bool(obj: Json, key: string, path: string): boolean {
  const value = field(obj, key, path);
  if (typeof value !== 'boolean') throw new Reject('wrong_type', `${path}.${key} must be a boolean`);
  return value;
}

function optionalBool(obj: Json, key: string, path: string): boolean | undefined {
  return obj[key] === undefined ? undefined : bool(obj, key, path);
}

function object(obj: Json, key: string, path: string): Json {
  const value = field(obj, key, path);
  if (!isPlainObject(value)) throw new Reject('wrong_type', `${path}.${key} must be an object`);
  return value;
}

function text(obj: Json, key: string, path: string, maxLength: number): string {
  const value = field(obj, key, path);
  if (typeof value !== 'string') throw new Reject('wrong_type', `${path}.${key} must be a string`);
  if (value.length === 0 || value.length > maxLength) throw new Reject('out_of_range', `${path}.${key} must be 1..${maxLength} characters`);
  // One NUL in an ack's error text once stopped every later ledger commit: refused at the edge.
  const at = controlCharacterIndex(value);
  if (at >= 0) throw new Reject('control_character', `${path}.${key} has a control character at ${at} (U+${value.charCodeAt(at).toString(16).padStart(4, '0').toUpperCase()})`);
  return value;
}

function oneOf<T extends string>(obj: Json, key: string, path: string, allowed: readonly T[]): T {
  const value = field(obj, key, path);
  if (typeof value !== 'string') throw new Reject('wrong_type', `${path}.${key} must be a string`);
  if (!(allowed as readonly string[]).includes(value)) throw new Reject('out_of_range', `${path}.${key} must be one of ${allowed.join('|')}`);
  return value as T;
}

// ---- telemetry ----

function decodeCircuit(kind: CircuitKind, obj: Json, path: string): CircuitSample {
  return {
    kind,
    voltageV: nonNegative(obj, 'voltageV', path),
    currentA: nonNegative(obj, 'currentA', path),
    powerW: finite(obj, 'powerW', path),
    powerFactor: powerFactor(obj, 'powerFactor', path),
    energyWh: register(obj, 'energyWh', path),
    relayClosed: bool(obj, 'relayClosed', path),
  };
}

function decodeElectric(unitAddress: string, at: number, values: Json, path: string): ElectricReading {
  const circuits: CircuitSample[] = [];
  if (values['circuits'] !== undefined) {
    const byKind = object(values, 'circuits', path);
    for (const key of Object.keys(byKind)) {
      if (!(CIRCUIT_KINDS as readonly string[]).includes(key)) throw new Reject('out_of_range', `${path}.circuits.${key} is not a circuit (${CIRCUIT_KINDS.join('|')})`);
    }
    for (const kind of CIRCUIT_KINDS) {
      if (byKind[kind] !== undefined) circuits.push(decodeCircuit(kind, object(byKind, kind, `${path}.circuits`), `${path}.circuits.${kind}`));
    }
  }
  const flags = values['flags'] === undefined ? undefined : object(values, 'flags', path);
  let alarmWord = 0;
  if (values['alarmWord'] !== undefined) {
    alarmWord = register(values, 'alarmWord', path);
    if (alarmWord > MAX_ALARM_WORD) throw new Reject('out_of_range', `${path}.alarmWord must fit in 32 bits`);
  }
  const relayClosed = optionalBool(values, 'relayClosed', path);
  const reading: ElectricReading = {
    type: 'electric',
    unitAddress,
    at,
    energyWh: register(values, 'energyWh', path),
    voltageV: nonNegative(values, 'voltageV', path),
    currentA: nonNegative(values, 'currentA', path),
    powerW: finite(values, 'powerW', path),
    powerFactor: powerFactor(values, 'powerFactor', path),
    circuits,
    flags: {
      coverOpen: flags ? bool(flags, 'coverOpen', `${path}.flags`) : false,
      reverseConnection: flags ? bool(flags, 'reverseConnection', `${path}.flags`) : false,
    },
    alarmWord,
  };
  return relayClosed === undefined ? reading : { ...reading, relayClosed };
}

function decodeWater(unitAddress: string, at: number, values: Json, path: string): WaterReading {
  return { type: 'water', unitAddress, at, volumeL: register(values, 'volumeL', path), valveOpen: bool(values, 'valveOpen', path) };
}

/** What each profile must (and must not) carry. */
function checkProfile(profile: MeterProfileName, reading: MeterReading, path: string): void {
  const mismatch = (detail: string): never => {
    throw new Reject('profile_mismatch', `${path}: ${profile} ${detail}`);
  };
  switch (profile) {
    case 'water-valve':
      if (reading.type !== 'water') mismatch('reports volumeL and valveOpen');
      return;
    case 'campus-1in3out':
      if (reading.type !== 'electric') return mismatch('is an electric meter');
      if (reading.circuits.length !== CIRCUIT_KINDS.length) mismatch(`reports all circuits (${CIRCUIT_KINDS.join(', ')})`);
      return;
    case 'acrel-ddsy1352':
      if (reading.type !== 'electric') return mismatch('is an electric meter');
      if (reading.circuits.length > 0) mismatch('has no circuits');
      if (reading.relayClosed === undefined) mismatch('reports relayClosed');
      return;
    case 'sdm120':
      if (reading.type !== 'electric') return mismatch('is an electric meter');
      if (reading.circuits.length > 0) mismatch('has no circuits');
      if (reading.relayClosed !== undefined) mismatch('has no relay');
      return;
  }
}

function decodeUnit(unitAddress: string, entries: unknown, limits: TelemetryLimits, profile: MeterProfileName | undefined): MeterReading[] {
  if (!Array.isArray(entries)) throw new Reject('wrong_type', `${unitAddress} must be an array of {ts, values}`);
  if (entries.length === 0) throw new Reject('wrong_shape', `${unitAddress} has no entries`);
  if (entries.length > limits.maxSamplesPerUnit) throw new Reject('too_many_samples', `${unitAddress} has ${entries.length} entries, limit ${limits.maxSamplesPerUnit}`);
  return entries.map((entry: unknown, index) => {
    const path = `${unitAddress}[${index}]`;
    if (!isPlainObject(entry)) throw new Reject('wrong_type', `${path} must be an object {ts, values}`);
    const at = register(entry, 'ts', path);
    const values = object(entry, 'values', path);
    const valuesPath = `${path}.values`;
    const hasVolume = values['volumeL'] !== undefined;
    if (hasVolume && values['energyWh'] !== undefined) throw new Reject('wrong_shape', `${valuesPath} carries both energyWh and volumeL`);
    const reading = hasVolume ? decodeWater(unitAddress, at, values, valuesPath) : decodeElectric(unitAddress, at, values, valuesPath);
    if (profile) checkProfile(profile, reading, valuesPath);
    return reading;
  });
}

export function decodeTelemetry(payload: Uint8Array | string, options: TelemetryDecodeOptions = {}): TelemetryDecoded {
  const limits: TelemetryLimits = { ...DEFAULT_TELEMETRY_LIMITS, ...options.limits };
  let root: unknown;
  try {
    root = parseJson(payload, limits.maxBytes);
  } catch (error) {
    if (error instanceof Reject) return { readings: [], rejections: [rejection(error.code, error.detail)] };
    throw error;
  }
  if (!isPlainObject(root)) return { readings: [], rejections: [rejection('wrong_shape', 'telemetry must be an object {"<unitAddress>": [{ts, values}]}')] };
  const units = Object.keys(root);
  if (units.length === 0) return { readings: [], rejections: [rejection('wrong_shape', 'telemetry carries no units')] };
  if (units.length > limits.maxUnits) return { readings: [], rejections: [rejection('too_many_units', `${units.length} units, limit ${limits.maxUnits}`)] };

  const readings: MeterReading[] = [];
  const rejections: PayloadRejection[] = [];
  for (const unitAddress of units) {
    if (!UNIT_ADDRESS_PATTERN.test(unitAddress)) {
      rejections.push(rejection('bad_unit_address', `unit address ${JSON.stringify(unitAddress.slice(0, 70))} is not 1..64 of [A-Za-z0-9_.:-]`));
      continue;
    }
    let profile: MeterProfileName | undefined;
    if (options.profileOf) {
      profile = options.profileOf(unitAddress);
      if (profile === undefined) {
        rejections.push(rejection('unknown_unit', `unit ${unitAddress} is not configured on this gateway`, unitAddress));
        continue;
      }
    }
    try {
      readings.push(...decodeUnit(unitAddress, root[unitAddress], limits, profile));
    } catch (error) {
      if (!(error instanceof Reject)) throw error;
      rejections.push(rejection(error.code, error.detail, unitAddress));
    }
  }
  return { readings, rejections };
}

function encodeValues(reading: MeterReading): Json {
  if (reading.type === 'water') return { volumeL: reading.volumeL, valveOpen: reading.valveOpen };
  const values: Json = {
    energyWh: reading.energyWh,
    voltageV: reading.voltageV,
    currentA: reading.currentA,
    powerW: reading.powerW,
    powerFactor: reading.powerFactor,
  };
  if (reading.circuits.length > 0) {
    const circuits: Json = {};
    for (const circuit of reading.circuits) {
      circuits[circuit.kind] = {
        voltageV: circuit.voltageV,
        currentA: circuit.currentA,
        powerW: circuit.powerW,
        powerFactor: circuit.powerFactor,
        energyWh: circuit.energyWh,
        relayClosed: circuit.relayClosed,
      };
    }
    values['circuits'] = circuits;
  }
  if (reading.relayClosed !== undefined) values['relayClosed'] = reading.relayClosed;
  values['flags'] = { coverOpen: reading.flags.coverOpen, reverseConnection: reading.flags.reverseConnection };
  values['alarmWord'] = reading.alarmWord;
  return values;
}

/** The reverse of `decodeTelemetry` (used by the simulator's gateway publisher). */
export function encodeTelemetry(readings: readonly MeterReading[]): string {
  const byUnit: Record<string, Json[]> = {};
  for (const reading of readings) {
    (byUnit[reading.unitAddress] ??= []).push({ ts: reading.at, values: encodeValues(reading) });
  }
  return JSON.stringify(byUnit);
}

// ---- commands, acknowledgements, status ----

function decodeControl<T>(payload: Uint8Array | string, what: string, read: (obj: Json) => T): Decoded<T> {
  try {
    const root = parseJson(payload, MAX_CONTROL_PAYLOAD_BYTES);
    if (!isPlainObject(root)) throw new Reject('wrong_shape', `${what} must be a JSON object`);
    return { ok: true, value: read(root) };
  } catch (error) {
    if (error instanceof Reject) return { ok: false, rejection: rejection(error.code, `${what}: ${error.detail}`) };
    throw error;
  }
}

export function encodeCommand(command: SupplyCommand): string {
  const message: CommandMessage = { id: command.commandId, unit: command.unitAddress, target: command.target, action: command.action };
  return JSON.stringify(message);
}

export function decodeCommand(payload: Uint8Array | string): Decoded<CommandMessage> {
  return decodeControl(payload, 'command', (obj) => {
    const unit = text(obj, 'unit', 'command', 64);
    if (!UNIT_ADDRESS_PATTERN.test(unit)) throw new Reject('bad_unit_address', `command.unit ${JSON.stringify(unit)} is not 1..64 of [A-Za-z0-9_.:-]`);
    return {
      id: text(obj, 'id', 'command', COMMAND_ID_MAX_LENGTH),
      unit,
      target: oneOf(obj, 'target', 'command', SUPPLY_TARGETS),
      action: oneOf(obj, 'action', 'command', SUPPLY_ACTIONS),
    };
  });
}

export function encodeAck(ack: AckMessage): string {
  return JSON.stringify(ack);
}

export function decodeAck(payload: Uint8Array | string): Decoded<AckMessage> {
  return decodeControl(payload, 'ack', (obj) => {
    const ack: { -readonly [K in keyof AckMessage]: AckMessage[K] } = {
      id: text(obj, 'id', 'ack', COMMAND_ID_MAX_LENGTH),
      ok: bool(obj, 'ok', 'ack'),
    };
    const relayClosed = optionalBool(obj, 'relayClosed', 'ack');
    const valveOpen = optionalBool(obj, 'valveOpen', 'ack');
    if (relayClosed !== undefined) ack.relayClosed = relayClosed;
    if (valveOpen !== undefined) ack.valveOpen = valveOpen;
    if (obj['error'] !== undefined) ack.error = text(obj, 'error', 'ack', ERROR_TEXT_MAX_LENGTH);
    return ack;
  });
}

/**
 * `online` / `offline` as plain text. An empty payload is a cleared retained status (the
 * gateway was removed): it reads as offline.
 */
export function decodeStatus(payload: Uint8Array | string): Decoded<boolean> {
  const size = byteLength(payload);
  if (size === 0) return { ok: true, value: false };
  if (size > 16) return { ok: false, rejection: rejection('too_large', `status: ${size} bytes, expected "online" or "offline"`) };
  const value = (typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8')).trim();
  if (value === STATUS_ONLINE) return { ok: true, value: true };
  if (value === STATUS_OFFLINE) return { ok: true, value: false };
  return { ok: false, rejection: rejection('out_of_range', `status: ${JSON.stringify(value)}, expected "online" or "offline"`) };
}
