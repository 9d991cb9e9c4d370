import type { ElectricReading, MeterReading, WaterReading } from '../../domain/reading.ts';
import type { MeterProfileName } from '../gateway-driver.ts';

/** `encode` is handed the simulator's reading; a reading of the wrong kind is a wiring bug. */
export function requireElectric(profile: MeterProfileName, reading: MeterReading): ElectricReading {
  if (reading.type !== 'electric') throw new TypeError(`${profile} encodes electric readings, got ${reading.type}`);
  return reading;
}

export function requireWater(profile: MeterProfileName, reading: MeterReading): WaterReading {
  if (reading.type !== 'water') throw new TypeError(`${profile} encodes water readings, got ${reading.type}`);
  return reading;
}
