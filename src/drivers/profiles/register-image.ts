import type { MeterProfileName } from '../gateway-driver.ts';
import {
  FrameRejectedError,
  blockWords,
  wordOffset,
  type RegisterBlock,
  type RegisterDef,
  type RegisterType,
  type RegisterWords,
} from './meter-profile.ts';

/**
 * The words of a profile's poll blocks, read and written by named register. 32-bit values
 * are big-endian in word order (high word at the lower address) and in byte order, as on
 * the wire: u32 0x00012345 is [0x0001, 0x2345]; f32 230.0 is [0x4366, 0x0000].
 */
export class RegisterImage {
  private constructor(
    private readonly profile: MeterProfileName,
    private readonly blocks: readonly RegisterBlock[],
    private readonly data: number[],
  ) {}

  /** Wraps words from a reply; rejects a wrong count or words that are not 16-bit. */
  static fromWords(profile: MeterProfileName, blocks: readonly RegisterBlock[], words: RegisterWords | Buffer): RegisterImage {
    const list = Buffer.isBuffer(words) ? wordsOfBuffer(profile, words) : words;
    const expected = blockWords(blocks);
    if (list.length !== expected) {
      throw new FrameRejectedError(profile, `expected ${expected} registers, got ${list.length}`);
    }
    for (const word of list) {
      if (!Number.isInteger(word) || word < 0 || word > 0xffff) {
        throw new FrameRejectedError(profile, `register value ${String(word)} is not a 16-bit word`);
      }
    }
    return new RegisterImage(profile, blocks, [...list]);
  }

  static blank(profile: MeterProfileName, blocks: readonly RegisterBlock[]): RegisterImage {
    return new RegisterImage(profile, blocks, new Array<number>(blockWords(blocks)).fill(0));
  }

  words(): number[] {
    return [...this.data];
  }

  /** The raw integer (u16, i16, u32) or float (f32) held by `def`. */
  raw(def: RegisterDef): number {
    const at = this.offset(def);
    const hi = this.data[at]!;
    switch (def.type) {
      case 'u16':
        return hi;
      case 'i16':
        return hi >= 0x8000 ? hi - 0x10000 : hi;
      case 'u32':
        return hi * 0x10000 + this.data[at + 1]!;
      case 'f32': {
        const bytes = Buffer.alloc(4);
        bytes.writeUInt16BE(hi, 0);
        bytes.writeUInt16BE(this.data[at + 1]!, 2);
        return bytes.readFloatBE(0);
      }
    }
  }

  /** The physical value in `def.unit`; rejects NaN / infinite floats. */
  value(def: RegisterDef): number {
    const raw = this.raw(def);
    if (!Number.isFinite(raw)) throw new FrameRejectedError(this.profile, `${def.name} is ${raw}`);
    return def.decimals === 0 ? raw : raw / 10 ** def.decimals;
  }

  /** Like `value`, and rejects values outside [min, max] (implausible for a real meter). */
  valueIn(def: RegisterDef, min: number, max: number): number {
    const value = this.value(def);
    if (value < min || value > max) {
      throw new FrameRejectedError(this.profile, `${def.name} = ${value} ${def.unit} is outside ${min}..${max}`);
    }
    return value;
  }

  /** Writes a physical value: scaled, rounded, clamped to the register type. */
  set(def: RegisterDef, value: number): void {
    const at = this.offset(def);
    if (def.type === 'f32') {
      const bytes = Buffer.alloc(4);
      bytes.writeFloatBE(value, 0);
      this.data[at] = bytes.readUInt16BE(0);
      this.data[at + 1] = bytes.readUInt16BE(2);
      return;
    }
    const [min, max] = RANGE[def.type];
    const scaled = Number.isFinite(value) ? Math.round(value * 10 ** def.decimals) : 0;
    const raw = Math.min(max, Math.max(min, scaled));
    if (def.type === 'u32') {
      this.data[at] = Math.floor(raw / 0x10000);
      this.data[at + 1] = raw % 0x10000;
    } else {
      this.data[at] = raw < 0 ? raw + 0x10000 : raw;
    }
  }

  private offset(def: RegisterDef): number {
    const at = wordOffset(this.blocks, def.address, WIDTH[def.type]);
    if (at === undefined) throw new RangeError(`${def.name} (0x${def.address.toString(16)}) is not in the polled blocks`);
    return at;
  }
}

const WIDTH: Record<RegisterType, number> = { u16: 1, i16: 1, u32: 2, f32: 2 };
const RANGE: Record<Exclude<RegisterType, 'f32'>, readonly [number, number]> = {
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
};

function wordsOfBuffer(profile: MeterProfileName, buffer: Buffer): number[] {
  if (buffer.length % 2 !== 0) throw new FrameRejectedError(profile, `odd byte count ${buffer.length}`);
  const words: number[] = [];
  for (let i = 0; i < buffer.length; i += 2) words.push(buffer.readUInt16BE(i));
  return words;
}

/** Shorthand for register definitions in the profile files. */
export function register(
  name: string,
  address: number,
  type: RegisterType,
  unit: string,
  decimals: number,
  access: 'r' | 'rw',
  description: string,
): RegisterDef {
  return Object.freeze({ name, address, type, unit, decimals, access, description });
}
