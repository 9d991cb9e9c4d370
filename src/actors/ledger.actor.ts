import { RuntimeFenceError } from '../db/runtime-lock.ts';
import type { AuditRecord } from '../db/audit.repository.ts';
import type { ControlStateRecord } from '../db/control-state.repository.ts';
import type { ActorDeps } from './actor-deps.ts';
import { resumeOnCrash } from './actor-deps.ts';
import type { AlarmClearance, AlarmRecord, BillingRecord, CommandRecord, EventRecord, IntervalRecord, LedgerWriter } from './ledger-writer.ts';
import { dispatch, spawnActor, type Ref } from './nact.ts';

export type LedgerMsg =
  | { readonly type: 'Billed'; readonly record: BillingRecord }
  | { readonly type: 'CommandChanged'; readonly record: CommandRecord }
  | { readonly type: 'AlarmRaised'; readonly record: AlarmRecord }
  | { readonly type: 'AlarmCleared'; readonly clearance: AlarmClearance }
  | { readonly type: 'EventOccurred'; readonly record: EventRecord }
  | { readonly type: 'IntervalClosed'; readonly record: IntervalRecord }
  | { readonly type: 'Audited'; readonly record: AuditRecord }
  | { readonly type: 'ControlChanged'; readonly record: ControlStateRecord }
  | { readonly type: 'DormitoryStateChanged'; readonly dormitoryId: string; readonly state: string }
  | { readonly type: 'Flush'; readonly replyTo: Ref<LedgerFlushed> };

export interface LedgerFlushed {
  readonly type: 'LedgerFlushed';
  readonly ok: boolean;
  /** Not ok because this server does not hold the runtime lock (the flush's caller answers 503, not 500). */
  readonly fenced?: boolean;
}

/**
 * `ledger`: the only writer of the hot path's persistence. Its handler never awaits: it hands
 * items to the group committer (LedgerWriter), which commits by time and batch size.
 */
export function spawnLedger(parent: Ref<unknown>, deps: ActorDeps, writer: LedgerWriter): Ref<LedgerMsg> {
  return spawnActor(
    parent,
    (state: LedgerWriter, msg: LedgerMsg): LedgerWriter => {
      switch (msg.type) {
        case 'Billed':
          state.addBilling(msg.record);
          break;
        case 'CommandChanged':
          state.addCommand(msg.record);
          break;
        case 'AlarmRaised':
          deps.metrics.alarmsRaised.inc({ kind: msg.record.kind });
          state.addAlarm(msg.record);
          break;
        case 'AlarmCleared':
          state.clearAlarm(msg.clearance);
          break;
        case 'EventOccurred':
          state.addEvent(msg.record);
          break;
        case 'IntervalClosed':
          state.addInterval(msg.record);
          break;
        case 'Audited':
          state.addAudit(msg.record);
          break;
        case 'ControlChanged':
          state.addControl(msg.record);
          break;
        case 'DormitoryStateChanged':
          state.setDormitoryState(msg.dormitoryId, msg.state);
          break;
        case 'Flush':
          state.flushNow().then(
            () => dispatch(msg.replyTo, { type: 'LedgerFlushed', ok: true }),
            (error: unknown) => dispatch(msg.replyTo, { type: 'LedgerFlushed', ok: false, fenced: error instanceof RuntimeFenceError }),
          );
          break;
      }
      return state;
    },
    'ledger',
    { initialState: writer, onCrash: resumeOnCrash(deps, 'ledger') },
  );
}
