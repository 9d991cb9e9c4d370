import type { RegisterResolution, RegisterResolved } from '../domain/register-hold.ts';
import { findMeterPlacement } from '../db/meter.repository.ts';
import type { Executor } from '../db/executor.ts';
import { DomainError } from '../errors.ts';

/** A meter's billing as its live actor holds it. */
export interface MeterBillingView {
  readonly meterId: string;
  readonly register: number | null;
  readonly billedRegister: number | null;
  readonly pendingAmount: number;
  readonly hold: string | null;
}

/** What the use cases need of the running actors (CampusRuntime). */
export interface MeterRegisterRuntime {
  meterBilling(dormitoryId: string, meterId: string): Promise<MeterBillingView | undefined>;
  resolveRegister(dormitoryId: string, meterId: string, resolution: RegisterResolution, operator: string): Promise<RegisterResolved | undefined>;
}

async function placement(db: Executor, meterId: string) {
  const meter = await findMeterPlacement(db, meterId);
  if (!meter) throw new DomainError('METER_NOT_FOUND', `meter ${meterId} does not exist`);
  return meter;
}

/** A meter's billing as the live actor holds it: cursor, pending charge, hold. */
export async function meterBilling(db: Executor, runtime: MeterRegisterRuntime, meterId: string): Promise<MeterBillingView> {
  const meter = await placement(db, meterId);
  const view = await runtime.meterBilling(meter.dormitoryId, meterId);
  if (!view) throw new DomainError('METER_NOT_RUNNING', `meter ${meterId} is not running (its gateway or dormitory is not loaded)`);
  return view;
}

/**
 * An operator resolves a held register (accept the jump, void the range) or replaces the
 * meter. The live meter actor does it; the answer comes after the ledger commit, and the
 * audit record (operator, reason, registers, amount) is committed with the charge.
 */
export async function resolveMeterRegister(db: Executor, runtime: MeterRegisterRuntime, meterId: string, resolution: RegisterResolution, operator: string) {
  const meter = await placement(db, meterId);
  const result = await runtime.resolveRegister(meter.dormitoryId, meterId, resolution, operator);
  if (!result) throw new DomainError('METER_NOT_RUNNING', `meter ${meterId} is not running (its gateway or dormitory is not loaded)`);
  if (!result.ok) throw new DomainError(result.code, result.message, result.field);
  return result;
}
