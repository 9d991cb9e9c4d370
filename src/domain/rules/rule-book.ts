import type { CircuitKind } from '../reading.ts';
import { DEFAULT_AC_STANDBY_CONFIG, validateAcStandbyConfig, type AcStandbyConfig } from './ac-standby.ts';
import { DEFAULT_CALENDAR_CONFIG, validateCalendarConfig, type CalendarConfig } from './calendar.ts';
import type { ConfigValidation } from './config-validation.ts';
import { DEFAULT_LIGHTING_SCHEDULE_CONFIG, validateLightingScheduleConfig, type LightingOverride, type LightingScheduleConfig } from './lighting-schedule.ts';
import { DEFAULT_LOW_CURRENT_CONFIG, validateLowCurrentConfig, type LowCurrentConfig } from './low-current.ts';
import { DEFAULT_MALIGNANT_LOAD_CONFIG, validateMalignantLoadConfig, type MalignantLoadConfig } from './malignant-load.ts';
import { DEFAULT_CIRCUIT_OVERLOAD_CONFIGS, DEFAULT_DORMITORY_OVERLOAD_CONFIG, validateOverloadConfig, type OverloadConfig } from './overload.ts';
import { DEFAULT_RECLOSE_POLICY_CONFIG, validateReclosePolicyConfig, type ReclosePolicyConfig } from './reclose-policy.ts';
import { DEFAULT_TAMPER_CONFIG, validateTamperConfig, type TamperConfig } from './tamper.ts';

/**
 * Every rule's configuration as one dormitory's actors use it: the campus settings, with a
 * building's settings overriding rule by rule. Stored per scope in `rule_settings`.
 */
export interface RuleBook {
  readonly lightingSchedule: LightingScheduleConfig;
  readonly calendar: CalendarConfig;
  readonly lightingOverride: LightingOverride | null;
  readonly lowCurrent: LowCurrentConfig;
  readonly acStandby: AcStandbyConfig;
  readonly malignantLoad: MalignantLoadConfig;
  readonly reclose: ReclosePolicyConfig;
  readonly overloadLighting: OverloadConfig;
  readonly overloadSocket: OverloadConfig;
  readonly overloadAc: OverloadConfig;
  readonly overloadDormitory: OverloadConfig;
  readonly tamper: TamperConfig;
}

export type RuleName = keyof RuleBook;

export const DEFAULT_RULE_BOOK: RuleBook = Object.freeze({
  lightingSchedule: DEFAULT_LIGHTING_SCHEDULE_CONFIG,
  calendar: DEFAULT_CALENDAR_CONFIG,
  lightingOverride: null,
  lowCurrent: DEFAULT_LOW_CURRENT_CONFIG,
  acStandby: DEFAULT_AC_STANDBY_CONFIG,
  malignantLoad: DEFAULT_MALIGNANT_LOAD_CONFIG,
  reclose: DEFAULT_RECLOSE_POLICY_CONFIG,
  overloadLighting: DEFAULT_CIRCUIT_OVERLOAD_CONFIGS.lighting,
  overloadSocket: DEFAULT_CIRCUIT_OVERLOAD_CONFIGS.socket,
  overloadAc: DEFAULT_CIRCUIT_OVERLOAD_CONFIGS.ac,
  overloadDormitory: DEFAULT_DORMITORY_OVERLOAD_CONFIG,
  tamper: DEFAULT_TAMPER_CONFIG,
});

function validateOverride(value: unknown): ConfigValidation<LightingOverride | null> {
  if (value === null) return { ok: true, config: null };
  if (typeof value !== 'object' || Array.isArray(value)) return { ok: false, field: '', message: 'must be an object {lightsOn, untilAt} or null' };
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (key !== 'lightsOn' && key !== 'untilAt') return { ok: false, field: key, message: 'is not a known field' };
  if (typeof v.lightsOn !== 'boolean') return { ok: false, field: 'lightsOn', message: 'must be a boolean' };
  const until = typeof v.untilAt === 'string' ? Date.parse(v.untilAt) : v.untilAt;
  if (typeof until !== 'number' || !Number.isFinite(until)) return { ok: false, field: 'untilAt', message: 'must be an ISO time or epoch ms' };
  return { ok: true, config: Object.freeze({ lightsOn: v.lightsOn, untilAt: until }) };
}

/** The validator of each rule, for the REST layer (names the failing field). */
export const RULE_VALIDATORS: { readonly [K in RuleName]: (value: unknown) => ConfigValidation<RuleBook[K]> } = {
  lightingSchedule: validateLightingScheduleConfig,
  calendar: validateCalendarConfig,
  lightingOverride: validateOverride,
  lowCurrent: validateLowCurrentConfig,
  acStandby: validateAcStandbyConfig,
  malignantLoad: validateMalignantLoadConfig,
  reclose: validateReclosePolicyConfig,
  overloadLighting: (v) => validateOverloadConfig(v, DEFAULT_CIRCUIT_OVERLOAD_CONFIGS.lighting),
  overloadSocket: (v) => validateOverloadConfig(v, DEFAULT_CIRCUIT_OVERLOAD_CONFIGS.socket),
  overloadAc: (v) => validateOverloadConfig(v, DEFAULT_CIRCUIT_OVERLOAD_CONFIGS.ac),
  overloadDormitory: (v) => validateOverloadConfig(v, DEFAULT_DORMITORY_OVERLOAD_CONFIG),
  tamper: validateTamperConfig,
};

export const RULE_NAMES = Object.keys(RULE_VALIDATORS) as RuleName[];

export function isRuleName(value: string): value is RuleName {
  return (RULE_NAMES as string[]).includes(value);
}

/** Builds a rule book from stored settings: campus first, then the building's overrides. Invalid stored values are skipped. */
export function resolveRuleBook(...layers: readonly Readonly<Partial<Record<string, unknown>>>[]): RuleBook {
  const book: Record<string, unknown> = { ...DEFAULT_RULE_BOOK };
  for (const layer of layers) {
    for (const [name, value] of Object.entries(layer)) {
      if (!isRuleName(name)) continue;
      const checked = RULE_VALIDATORS[name](value);
      if (checked.ok) book[name] = checked.config;
    }
  }
  return Object.freeze(book) as unknown as RuleBook;
}

export function overloadConfigFor(book: RuleBook, kind: CircuitKind): OverloadConfig {
  switch (kind) {
    case 'lighting':
      return book.overloadLighting;
    case 'socket':
      return book.overloadSocket;
    case 'ac':
      return book.overloadAc;
  }
}
