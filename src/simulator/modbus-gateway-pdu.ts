import { MODBUS_EXCEPTION, meterProfile, type MeterProfile, type WriteOutcome } from '../drivers/profiles/index.ts';
import type { SimulatedGatewayView, SimulatedMeterView } from './simulated-gateway.ts';

/**
 * What a simulated gateway answers to one Modbus request PDU for `unitId`: the reply PDU,
 * or undefined for no answer. Pure apart from the meter view it reads and switches.
 *
 * Supported: 0x03 / 0x04 reads inside the profile's poll blocks (any sub-range, so tools
 * like mbpoll can read single registers), 0x06 and 0x10 writes the profile accepts.
 * Anything else gets the standard exception a real device would send.
 */

/**
 * A unit id with no meter behind the gateway. Real RS485 gateways either answer exception
 * 0x0B (gateway target device failed to respond) after their serial timeout, or stay
 * silent; 'exception' answers 0x0B at once, 'silent' never answers.
 */
export type UnknownUnitPolicy = 'exception' | 'silent';

const READ_MAX_REGISTERS = 125;
const WRITE_MAX_REGISTERS = 123;

export function answerPdu(
  gateway: SimulatedGatewayView,
  unitId: number,
  pdu: Buffer,
  unknownUnit: UnknownUnitPolicy,
): Buffer | undefined {
  if (pdu.length < 1) return undefined;
  const functionCode = pdu[0]!;
  const meter = gateway.meter(String(unitId));
  if (!meter) {
    return unknownUnit === 'exception' ? exception(functionCode, MODBUS_EXCEPTION.gatewayTargetFailedToRespond) : undefined;
  }
  const profile = meterProfile(meter.profile);
  try {
    switch (functionCode) {
      case 0x03:
      case 0x04:
        return answerRead(meter, profile, functionCode, pdu);
      case 0x06:
        return answerWriteSingle(meter, profile, pdu);
      case 0x10:
        return answerWriteMultiple(meter, profile, pdu);
      default:
        return exception(functionCode, MODBUS_EXCEPTION.illegalFunction);
    }
  } catch {
    // The meter model or the encoder failed: what a real device reports as 0x04.
    return exception(functionCode, MODBUS_EXCEPTION.deviceFailure);
  }
}

function answerRead(meter: SimulatedMeterView, profile: MeterProfile, functionCode: 0x03 | 0x04, pdu: Buffer): Buffer {
  if (pdu.length !== 5) return exception(functionCode, MODBUS_EXCEPTION.illegalDataValue);
  const address = pdu.readUInt16BE(1);
  const quantity = pdu.readUInt16BE(3);
  if (quantity < 1 || quantity > READ_MAX_REGISTERS) return exception(functionCode, MODBUS_EXCEPTION.illegalDataValue);
  if (!profile.poll.some((block) => block.functionCode === functionCode)) {
    return exception(functionCode, MODBUS_EXCEPTION.illegalFunction);
  }
  let offset = 0;
  let start: number | undefined;
  for (const block of profile.poll) {
    const inside = address >= block.address && address + quantity <= block.address + block.length;
    if (block.functionCode === functionCode && inside) {
      start = offset + address - block.address;
      break;
    }
    offset += block.length;
  }
  if (start === undefined) return exception(functionCode, MODBUS_EXCEPTION.illegalDataAddress);
  const words = profile.encode(meter.read());
  const reply = Buffer.alloc(2 + 2 * quantity);
  reply[0] = functionCode;
  reply[1] = 2 * quantity;
  for (let i = 0; i < quantity; i++) reply.writeUInt16BE(words[start + i]!, 2 + 2 * i);
  return reply;
}

function answerWriteSingle(meter: SimulatedMeterView, profile: MeterProfile, pdu: Buffer): Buffer {
  if (pdu.length !== 5) return exception(0x06, MODBUS_EXCEPTION.illegalDataValue);
  const outcome = profile.interpretWrite(pdu.readUInt16BE(1), [pdu.readUInt16BE(3)]);
  return apply(meter, outcome, 0x06) ?? Buffer.from(pdu); // 0x06 echoes the request
}

function answerWriteMultiple(meter: SimulatedMeterView, profile: MeterProfile, pdu: Buffer): Buffer {
  if (pdu.length < 6) return exception(0x10, MODBUS_EXCEPTION.illegalDataValue);
  const address = pdu.readUInt16BE(1);
  const quantity = pdu.readUInt16BE(3);
  const byteCount = pdu[5]!;
  if (quantity < 1 || quantity > WRITE_MAX_REGISTERS || byteCount !== 2 * quantity || pdu.length !== 6 + byteCount) {
    return exception(0x10, MODBUS_EXCEPTION.illegalDataValue);
  }
  const values: number[] = [];
  for (let i = 0; i < quantity; i++) values.push(pdu.readUInt16BE(6 + 2 * i));
  const outcome = profile.interpretWrite(address, values);
  return apply(meter, outcome, 0x10) ?? pdu.subarray(0, 5); // fc, address, quantity
}

/** Switches the meter; returns an exception PDU if the write was refused. */
function apply(meter: SimulatedMeterView, outcome: WriteOutcome, functionCode: number): Buffer | undefined {
  if (!outcome.ok) return exception(functionCode, outcome.exception);
  for (const change of outcome.changes) meter.setSupply(change.target, change.closed);
  return undefined;
}

function exception(functionCode: number, code: number): Buffer {
  return Buffer.from([(functionCode | 0x80) & 0xff, code]);
}
