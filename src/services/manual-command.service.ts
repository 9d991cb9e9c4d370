import type { Kysely } from 'kysely';
import { appendAudit } from '../db/audit.repository.ts';
import type { Database } from '../db/database.ts';
import type { RuntimeFence } from '../db/runtime-lock.ts';
import { holdManualCuts, manualCutTargets, releaseManualCuts } from '../db/manual-cut.repository.ts';
import { SWITCHED_TARGETS } from '../db/topology.repository.ts';
import type { KeyedSerial } from './keyed-serial.ts';
import type { CircuitKind, SupplyAction } from '../domain/reading.ts';

export interface ManualCommand {
  readonly dormitoryId: string;
  readonly circuit: CircuitKind | 'all';
  readonly action: SupplyAction;
  readonly reason: string;
  readonly operator: string;
}

/**
 * Makes an operator's cut or restore durable before any actor acts on it: the held outputs in
 * `manual_cuts` and the audit record commit in one transaction, so a crash right after the
 * 202 still boots with the cut (docs/architecture.md, "Control state snapshot").
 */
export async function recordManualCommand(db: Kysely<Database>, command: ManualCommand, at: Date, fence?: RuntimeFence): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // A server that lost the campus to another records no operator command (the next boot would follow it).
    await fence?.(trx);
    // One operator command per dormitory at a time, across processes: a restore's DELETE must see a
    // concurrent cut's INSERT (under READ COMMITTED it did not, and the cut stayed behind).
    await trx.selectFrom('dormitories').select('id').where('id', '=', command.dormitoryId).forUpdate().execute();
    const outputs = await manualCutTargets(trx, command.dormitoryId, command.circuit, (profile) => SWITCHED_TARGETS[profile] ?? []);
    if (command.action === 'cut') await holdManualCuts(trx, outputs.map((o) => ({ ...o, operator: command.operator, reason: command.reason, at })));
    else await releaseManualCuts(trx, outputs);
    await appendAudit(trx, {
      operator: command.operator,
      action: `command.${command.action}`,
      targetType: 'dormitory',
      targetId: command.dormitoryId,
      details: { circuit: command.circuit, reason: command.reason, outputs: outputs.map((o) => `${o.meterId}:${o.target}`) },
    });
  });
}

/**
 * An operator's cut or restore, end to end: recorded durably (`recordManualCommand`), then handed
 * to the dormitory actor by `apply`, one command per dormitory at a time. The actor therefore sees
 * a dormitory's commands in the order they committed: a cut and a restore sent at once (two
 * operators, a double click) leave `manual_cuts` and the live circuit agreeing, so a restart
 * cannot switch a relay nobody asked for (an outside attack found them disagreeing: the restore
 * committed first, the actor saw the cut first).
 */
export function issueManualCommand<T>(db: Kysely<Database>, serial: KeyedSerial, command: ManualCommand, at: Date, apply: () => Promise<T>, fence?: RuntimeFence): Promise<T> {
  return serial.run(command.dormitoryId, async () => {
    await recordManualCommand(db, command, at, fence);
    return apply();
  });
}
