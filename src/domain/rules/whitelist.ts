/**
 * Appliance signatures that malignant-load detection must never count: a registered
 * medical device, a PC with PFC, a department-approved kettle. An entry matches a power
 * increment when both the increment (W) and its incremental power factor lie inside its
 * bands, edges included: the whitelist errs towards not cutting.
 */
import {
  InvalidField,
  checkArray,
  checkName,
  checkNumber,
  deepFreeze,
  readObject,
  validated,
  type ConfigValidation,
} from './config-validation.ts';

export interface WhitelistEntry {
  readonly name: string;
  readonly minW: number;
  readonly maxW: number;
  readonly minPf: number;
  readonly maxPf: number;
}

export type WhitelistConfig = readonly WhitelistEntry[];

export const DEFAULT_WHITELIST_CONFIG: WhitelistConfig = deepFreeze([]);

export const MAX_WHITELIST_ENTRIES = 32;

/** The first entry matching an increment of `incrementW` at incremental PF `incrementPf`. */
export function whitelistMatch(
  whitelist: WhitelistConfig,
  incrementW: number,
  incrementPf: number,
): WhitelistEntry | null {
  for (const entry of whitelist) {
    if (
      incrementW >= entry.minW &&
      incrementW <= entry.maxW &&
      incrementPf >= entry.minPf &&
      incrementPf <= entry.maxPf
    ) {
      return entry;
    }
  }
  return null;
}

export function validateWhitelistConfig(value: unknown): ConfigValidation<WhitelistConfig> {
  return validated(() => readWhitelist(value, ''));
}

/** Also used by the malignant-load config, where the whitelist sits under `whitelist`. */
export function readWhitelist(value: unknown, path: string): WhitelistEntry[] {
  const at = (i: number, key?: string): string => {
    const item = `${path}[${i}]`;
    return key === undefined ? item : `${item}.${key}`;
  };
  return checkArray(value, path, MAX_WHITELIST_ENTRIES).map((item, i) => {
    const fields = readObject(item, at(i), ['name', 'minW', 'maxW', 'minPf', 'maxPf']);
    const watts = { min: 0, max: 100_000 };
    const pf = { min: 0, max: 1 };
    const entry = {
      name: checkName(fields['name'], at(i, 'name')),
      minW: checkNumber(fields['minW'], at(i, 'minW'), watts),
      maxW: checkNumber(fields['maxW'], at(i, 'maxW'), watts),
      minPf: checkNumber(fields['minPf'], at(i, 'minPf'), pf),
      maxPf: checkNumber(fields['maxPf'], at(i, 'maxPf'), pf),
    };
    if (entry.maxW < entry.minW) throw new InvalidField(at(i, 'maxW'), 'must not be below minW');
    if (entry.maxPf < entry.minPf) throw new InvalidField(at(i, 'maxPf'), 'must not be below minPf');
    return entry;
  });
}
