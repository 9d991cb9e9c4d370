import type { MeterProfileName } from '../gateway-driver.ts';
import { acrelDdsy1352Profile } from './acrel-ddsy1352.profile.ts';
import { campus1in3outProfile } from './campus-1in3out.profile.ts';
import type { MeterProfile } from './meter-profile.ts';
import { sdm120Profile } from './sdm120.profile.ts';
import { waterValveProfile } from './water-valve.profile.ts';

/** Every register map the drivers and the simulator server know, by MeterProfileName. */
export const METER_PROFILES: Readonly<Record<MeterProfileName, MeterProfile>> = Object.freeze({
  'campus-1in3out': campus1in3outProfile,
  sdm120: sdm120Profile,
  'acrel-ddsy1352': acrelDdsy1352Profile,
  'water-valve': waterValveProfile,
});

export function meterProfile(name: MeterProfileName): MeterProfile {
  return METER_PROFILES[name];
}

export {
  FrameRejectedError,
  MODBUS_EXCEPTION,
  PLAUSIBLE,
  blockWords,
  supplyOn,
  wordOffset,
  type MeterProfile,
  type ModbusExceptionCode,
  type ReadFunctionCode,
  type RegisterBlock,
  type RegisterDef,
  type RegisterType,
  type RegisterWords,
  type SupplyChange,
  type SupplyWrite,
  type WriteOutcome,
} from './meter-profile.ts';
