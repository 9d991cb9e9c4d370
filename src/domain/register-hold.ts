/**
 * Registers are physical (pure types): why a meter's billing is held and what an operator
 * may decide about it. The meter actor applies the decision (src/actors/meter.actor.ts).
 */

/** Why a meter's billing is held until an operator resolves it (the alarm kind it raised). */
export type RegisterHoldKind = 'register_backwards' | 'register_jump';
export const REGISTER_HOLD_KINDS: readonly RegisterHoldKind[] = ['register_backwards', 'register_jump'];
/** The alarm kind of a tariff that cannot price this meter (held until the tariff is fixed and the dormitory reloaded). */
export const TARIFF_INVALID_ALARM = 'tariff_invalid';

/**
 * What an operator decides about a held (or replaced) register:
 * - accept: the jump is real consumption; bill from the cursor to the last register read;
 * - void: bill nothing for the range; the cursor moves to the last register read;
 * - replace: the meter was swapped; bill the old one up to `finalRegister`, start the new one
 *   at `openingRegister` (allowed with or without a hold).
 */
export type RegisterResolution =
  | { readonly action: 'accept'; readonly reason: string }
  | { readonly action: 'void'; readonly reason: string }
  | { readonly action: 'replace'; readonly reason: string; readonly finalRegister: number; readonly openingRegister: number };

export type RegisterResolved =
  | { readonly ok: true; readonly meterId: string; readonly billedUsage: number; readonly amount: number; readonly cursorRegister: number }
  | { readonly ok: false; readonly code: 'REGISTER_NOT_HELD' | 'REGISTER_BELOW_BILLED' | 'TARIFF_INVALID'; readonly message: string; readonly field?: string };
