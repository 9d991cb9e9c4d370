/**
 * Tamper and theft flags of the meter: the rising edge of `coverOpen` or
 * `reverseConnection` raises one verdict ('alarm', or 'cut' when configured for that flag).
 * A flag that stays set does not repeat; one that clears and sets again does. The initial
 * state has both flags clear, so a meter that is first read with its cover open alarms:
 * restore the state from the snapshot to avoid a repeat after a restart.
 */
import type { MeterFlags } from '../reading.ts';
import { deepFreeze, readBoolean, readObject, validated, type ConfigValidation } from './config-validation.ts';
import { NO_VERDICT, actionVerdict, type RuleResult } from './rule-verdict.ts';

export interface TamperConfig {
  readonly cutOnCoverOpen: boolean;
  readonly cutOnReverseConnection: boolean;
}

export const DEFAULT_TAMPER_CONFIG: TamperConfig = deepFreeze({
  cutOnCoverOpen: false,
  cutOnReverseConnection: false,
});

export type TamperState = MeterFlags;

const CLEAR: TamperState = Object.freeze({ coverOpen: false, reverseConnection: false });

export function initialTamperState(): TamperState {
  return CLEAR;
}

export function evaluateTamper(config: TamperConfig, state: TamperState, flags: MeterFlags): RuleResult<TamperState> {
  if (flags.coverOpen === state.coverOpen && flags.reverseConnection === state.reverseConnection) {
    return { state, verdict: NO_VERDICT };
  }
  const next: TamperState = { coverOpen: flags.coverOpen, reverseConnection: flags.reverseConnection };
  const cover = flags.coverOpen && !state.coverOpen;
  const reverse = flags.reverseConnection && !state.reverseConnection;
  if (!cover && !reverse) return { state: next, verdict: NO_VERDICT };
  const cut = (cover && config.cutOnCoverOpen) || (reverse && config.cutOnReverseConnection);
  const detail = cover && reverse ? 'meter cover opened; reverse connection' : cover ? 'meter cover opened' : 'reverse connection';
  return { state: next, verdict: actionVerdict(cut ? 'cut' : 'alarm', 'tamper', detail) };
}

export function validateTamperConfig(value: unknown): ConfigValidation<TamperConfig> {
  return validated(() => {
    const fields = readObject(value, '', ['cutOnCoverOpen', 'cutOnReverseConnection']);
    const d = DEFAULT_TAMPER_CONFIG;
    return {
      cutOnCoverOpen: readBoolean(fields, 'cutOnCoverOpen', '', d.cutOnCoverOpen),
      cutOnReverseConnection: readBoolean(fields, 'cutOnReverseConnection', '', d.cutOnReverseConnection),
    };
  });
}
