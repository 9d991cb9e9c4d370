import type { Kysely } from 'kysely';
import { appendAudit } from '../db/audit.repository.ts';
import type { Database } from '../db/database.ts';
import { holdManualCuts, manualCutTargets, releaseManualCuts } from '../db/manual-cut.repository.ts';
import { SWITCHED_TARGETS } from '../db/topology.repository.ts';
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
export async function recordManualCommand(db: Kysely<Database>, command: ManualCommand, at: Date): Promise<void> {
  await db.transaction().execute(async (trx) => {
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
