/**
 * What can be plugged into a simulated room, and the electrical signature of each kind.
 * Figures are typical nameplate values; a meter sees running power, power factor, and for
 * some kinds a standby draw while plugged in but idle.
 */
import type { CircuitKind } from '../domain/reading.ts';
import { quickNoise01 } from './prng.ts';

export type ApplianceKind =
  | 'kettle'
  | 'hair_dryer'
  | 'heater'
  | 'phone_charger'
  | 'laptop'
  | 'lamp'
  | 'air_conditioner';

export const APPLIANCE_KINDS: readonly ApplianceKind[] = [
  'kettle',
  'hair_dryer',
  'heater',
  'phone_charger',
  'laptop',
  'lamp',
  'air_conditioner',
];

export function isApplianceKind(value: string): value is ApplianceKind {
  return (APPLIANCE_KINDS as readonly string[]).includes(value);
}

export interface ApplianceSignature {
  readonly kind: ApplianceKind;
  /** Active power while running, W. */
  readonly runningPowerW: number;
  readonly runningPowerFactor: number;
  /** Active power while plugged in but idle, W (0: an idle appliance draws nothing). */
  readonly standbyPowerW: number;
  readonly standbyPowerFactor: number;
  /**
   * Slot-to-slot variation of running power, as a fraction of it (uniform +-). Zero for
   * resistive elements and LED lamps: their draw is steady, so a kettle is exactly 1800 W.
   */
  readonly jitterFraction: number;
  /** Banned in dormitories (what malignant-load detection on the socket circuit hunts). */
  readonly prohibited: boolean;
}

export const APPLIANCE_SIGNATURES: Readonly<Record<ApplianceKind, ApplianceSignature>> = {
  kettle: sig('kettle', 1800, 1.0, 0, 1, 0, true),
  hair_dryer: sig('hair_dryer', 1200, 0.99, 0, 1, 0, true),
  heater: sig('heater', 2000, 1.0, 0, 1, 0, true),
  phone_charger: sig('phone_charger', 10, 0.6, 0, 1, 0.2, false),
  laptop: sig('laptop', 60, 0.9, 0, 1, 0.25, false),
  lamp: sig('lamp', 15, 0.9, 0, 1, 0, false),
  // Running = compressor on. Between compressor cycles and when switched off it draws
  // its standby current: the AC circuit's "plug pulled" detection relies on it.
  air_conditioner: sig('air_conditioner', 900, 0.85, 5, 0.5, 0.05, false),
};

function sig(
  kind: ApplianceKind,
  runningPowerW: number,
  runningPowerFactor: number,
  standbyPowerW: number,
  standbyPowerFactor: number,
  jitterFraction: number,
  prohibited: boolean,
): ApplianceSignature {
  return { kind, runningPowerW, runningPowerFactor, standbyPowerW, standbyPowerFactor, jitterFraction, prohibited };
}

/**
 * How a plugged appliance is used. `continuous`: runs as long as it is plugged in (what
 * someone plugging a kettle in means; an air conditioner still cycles its compressor).
 * `rhythm`: follows the day/night and seasonal rhythm of a lived-in room.
 */
export type ApplianceUsage = 'continuous' | 'rhythm';

export interface PluggedAppliance {
  /** Unique within its room, e.g. `kettle-7`. */
  readonly id: string;
  readonly kind: ApplianceKind;
  readonly circuit: CircuitKind;
  readonly usage: ApplianceUsage;
  /** Noise key: makes this appliance's timing and jitter its own, deterministically. */
  readonly noiseKey: number;
}

/**
 * A kind's signature in the units the slot loop wants, computed once: integer mW (so
 * energy integrates exactly) and reactive power per mW of active power (tan phi).
 */
export interface DrawModel {
  readonly runningPowerMw: number;
  /** Reactive var per mW of running power. */
  readonly runningVarPerMw: number;
  readonly standbyPowerMw: number;
  readonly standbyReactiveVar: number;
  readonly jitterFraction: number;
}

const DRAW_MODELS = new Map<ApplianceKind, DrawModel>(
  APPLIANCE_KINDS.map((kind) => {
    const s = APPLIANCE_SIGNATURES[kind];
    const standbyPowerMw = Math.round(s.standbyPowerW * 1000);
    return [
      kind,
      {
        runningPowerMw: Math.round(s.runningPowerW * 1000),
        runningVarPerMw: tanPhi(s.runningPowerFactor) / 1000,
        standbyPowerMw,
        standbyReactiveVar: (standbyPowerMw / 1000) * tanPhi(s.standbyPowerFactor),
        jitterFraction: s.jitterFraction,
      },
    ];
  }),
);

function tanPhi(powerFactor: number): number {
  return powerFactor >= 1 ? 0 : Math.tan(Math.acos(powerFactor));
}

export function drawModel(kind: ApplianceKind): DrawModel {
  return DRAW_MODELS.get(kind)!;
}

/** Running power during one slot, integer mW, with this appliance's own jitter. */
export function runningPowerMw(model: DrawModel, noiseKey: number, slotIndex: number): number {
  if (model.jitterFraction === 0) return model.runningPowerMw;
  const jitter = model.jitterFraction * (2 * quickNoise01(noiseKey, slotIndex) - 1);
  return Math.round(model.runningPowerMw * (1 + jitter));
}
