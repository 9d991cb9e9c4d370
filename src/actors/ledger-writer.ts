import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import { chunks } from '../db/chunks.ts';
import type { Database, Purse } from '../db/database.ts';
import { appendPostings, type LedgerPosting } from '../db/ledger.repository.ts';
import type { AuditRecord } from '../db/audit.repository.ts';
import { upsertControlStates, type ControlStateRecord } from '../db/control-state.repository.ts';
import { updateDormitoryStates } from '../db/dormitory.repository.ts';
import type { BillingCursor, PendingCharge } from '../domain/register-billing.ts';
import type { Metrics } from '../metrics/metrics.ts';

/** One meter's billed consumption since its last posting, and its new cursor. */
export interface BillingRecord {
  readonly meterId: string;
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly pending: PendingCharge | null;
  readonly cursor: BillingCursor;
}

export interface CommandRecord {
  readonly id: string;
  readonly dormitoryId: string;
  readonly meterId: string | null;
  readonly target: string;
  readonly action: 'cut' | 'restore';
  readonly reason: string;
  readonly state: 'requested' | 'sent' | 'confirmed' | 'failed';
  readonly requestedBy: string;
  readonly requestedAt: number;
  readonly sentAt?: number | undefined;
  readonly completedAt?: number | undefined;
  readonly detail?: string | undefined;
}

export interface AlarmRecord {
  readonly dormitoryId: string | null;
  readonly meterId: string | null;
  readonly gatewayId: string | null;
  readonly circuit: string | null;
  readonly kind: string;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly message: string;
  readonly evidence: readonly unknown[];
  readonly raisedAt: number;
}

export interface AlarmClearance {
  /** A dormitory's alarm; null for a gateway's (then `gatewayId` names it). */
  readonly dormitoryId: string | null;
  readonly gatewayId?: string;
  readonly circuit: string | null;
  readonly kind: string;
}

export interface EventRecord {
  readonly dormitoryId: string | null;
  readonly meterId: string | null;
  readonly gatewayId: string | null;
  readonly kind: string;
  readonly fromState: string | null;
  readonly toState: string | null;
  readonly details: Record<string, unknown>;
  readonly occurredAt: number;
}

export interface IntervalRecord {
  readonly meterId: string;
  readonly channel: string;
  readonly intervalStart: number;
  readonly usage: number;
  readonly maxPowerW: number;
  readonly registerEnd: number;
}

interface Batch {
  billing: BillingRecord[];
  commands: Map<string, CommandRecord>;
  alarms: AlarmRecord[];
  clearances: AlarmClearance[];
  events: EventRecord[];
  intervals: Map<string, IntervalRecord>;
  audit: AuditRecord[];
  /** Control states by dormitory and actor key: only the latest of each is written. */
  controls: Map<string, ControlStateRecord>;
  /** The live state of each dormitory that changed (the latest wins), for `dormitories.state`. */
  states: Map<string, string>;
}

const emptyBatch = (): Batch => ({ billing: [], commands: new Map(), alarms: [], clearances: [], events: [], intervals: new Map(), audit: [], controls: new Map(), states: new Map() });
const sizeOf = (b: Batch) => b.billing.length + b.commands.size + b.alarms.length + b.clearances.length + b.events.length + b.intervals.size + b.audit.length + b.controls.size + b.states.size;
const controlKey = (r: ControlStateRecord) => `${r.dormitoryId}|${r.actorKey}`;

export interface LedgerWriterOptions {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Real-time group-commit interval: persistence cadence is wall-clock, whatever the simulated speed. */
  readonly flushMs: number;
  readonly batchSize: number;
  /** Told after a commit that raised or cleared alarms of these dormitories (the live view recounts them). */
  readonly alarmsChanged?: (dormitoryIds: ReadonlySet<string>) => void;
}

/**
 * The group committer behind the `ledger` actor. Items are buffered in memory and written in
 * one transaction per flush (by time or batch size): ledger postings together with the
 * billing cursors they advance (exactly-once billing), command lifecycle rows, alarms,
 * events, interval readings and audit records. A failed commit keeps its batch and retries
 * with backoff; one flush runs at a time.
 */
export class LedgerWriter {
  private batch: Batch = emptyBatch();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private retryDelayMs = 0;
  private closed = false;

  constructor(private readonly options: LedgerWriterOptions) {}

  get pending(): number {
    return sizeOf(this.batch);
  }

  addBilling(record: BillingRecord): void {
    this.batch.billing.push(record);
    this.scheduled();
  }

  addCommand(record: CommandRecord): void {
    const previous = this.batch.commands.get(record.id);
    this.batch.commands.set(record.id, previous ? { ...previous, ...record, sentAt: record.sentAt ?? previous.sentAt, completedAt: record.completedAt ?? previous.completedAt } : record);
    this.scheduled();
  }

  addAlarm(record: AlarmRecord): void {
    this.batch.alarms.push(record);
    this.scheduled();
  }

  clearAlarm(clearance: AlarmClearance): void {
    this.batch.clearances.push(clearance);
    this.scheduled();
  }

  addEvent(record: EventRecord): void {
    this.batch.events.push(record);
    this.scheduled();
  }

  addInterval(record: IntervalRecord): void {
    const key = `${record.meterId}|${record.channel}|${record.intervalStart}`;
    const previous = this.batch.intervals.get(key);
    this.batch.intervals.set(key, previous ? { ...record, usage: previous.usage + record.usage, maxPowerW: Math.max(previous.maxPowerW, record.maxPowerW) } : record);
    this.scheduled();
  }

  addAudit(record: AuditRecord): void {
    this.batch.audit.push(record);
    this.scheduled();
  }

  /** A dormitory's, meter's or circuit's control state changed (docs/architecture.md, "Control state snapshot"). */
  addControl(record: ControlStateRecord): void {
    this.batch.controls.set(controlKey(record), record);
    this.scheduled();
  }

  /** A dormitory's live state changed: `GET /api/dormitories?state=` filters on it. */
  setDormitoryState(dormitoryId: string, state: string): void {
    this.batch.states.set(dormitoryId, state);
    this.scheduled();
  }

  /** Commits everything buffered so far (and anything in flight); resolves after commit. */
  async flushNow(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (sizeOf(this.batch) === 0) return;
    await this.runFlush();
    if (sizeOf(this.batch) > 0 && this.retryDelayMs > 0) throw new Error('ledger commit failed; batch kept for retry');
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    try {
      await this.flushNow();
    } catch (error) {
      this.options.log.error({ err: error, pending: this.pending }, 'ledger could not flush on close');
    }
    if (this.pending > 0) this.options.log.warn({ pending: this.pending }, 'ledger closed with unwritten items (their cursors were not advanced)');
  }

  private scheduled(): void {
    // After close() nothing starts a commit (the database may be gone): late items stay
    // unwritten. Billing stays exactly-once: a charge's cursor is written with it or not at all.
    if (this.closed) return;
    if (sizeOf(this.batch) >= this.options.batchSize && !this.flushing) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      void this.runFlush();
      return;
    }
    if (!this.timer && !this.flushing) this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runFlush();
    }, this.retryDelayMs || this.options.flushMs);
  }

  private runFlush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const batch = this.batch;
    if (sizeOf(batch) === 0) return Promise.resolve();
    this.batch = emptyBatch();
    const started = performance.now();
    this.flushing = this.options.db
      .transaction()
      .execute((trx) => this.write(trx, batch))
      .then(
        () => {
          this.retryDelayMs = 0;
          this.options.metrics.ledgerBatchSize.observe(sizeOf(batch));
          this.options.metrics.ledgerCommitSeconds.observe((performance.now() - started) / 1000);
          const touched = new Set<string>();
          for (const a of batch.alarms) if (a.dormitoryId) touched.add(a.dormitoryId);
          for (const c of batch.clearances) if (c.dormitoryId) touched.add(c.dormitoryId);
          if (touched.size) this.options.alarmsChanged?.(touched);
        },
        (error: unknown) => {
          this.options.metrics.ledgerFailures.inc();
          this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, 100), 10_000);
          this.options.log.error({ err: error, items: sizeOf(batch), retryInMs: this.retryDelayMs }, 'ledger commit failed; will retry');
          this.merge(batch);
        },
      )
      .finally(() => {
        this.flushing = undefined;
        if (sizeOf(this.batch) > 0 && !this.closed) this.scheduled();
      });
    return this.flushing;
  }

  /** Puts a failed batch back in front of what arrived meanwhile. */
  private merge(failed: Batch): void {
    const newer = this.batch;
    this.batch = failed;
    for (const b of newer.billing) this.batch.billing.push(b);
    for (const c of newer.commands.values()) this.addCommandQuiet(c);
    this.batch.alarms.push(...newer.alarms);
    this.batch.clearances.push(...newer.clearances);
    this.batch.events.push(...newer.events);
    for (const [k, v] of newer.intervals) this.batch.intervals.set(k, v);
    this.batch.audit.push(...newer.audit);
    for (const [k, v] of newer.controls) this.batch.controls.set(k, v);
    for (const [k, v] of newer.states) this.batch.states.set(k, v);
  }

  private addCommandQuiet(record: CommandRecord): void {
    const previous = this.batch.commands.get(record.id);
    this.batch.commands.set(record.id, previous ? { ...previous, ...record } : record);
  }

  private async write(trx: Transaction<Database>, batch: Batch): Promise<void> {
    const postings: LedgerPosting[] = [];
    const cursors = new Map<string, BillingRecord>();
    for (const record of batch.billing) {
      cursors.set(record.meterId, record);
      const pending = record.pending;
      if (!pending) continue;
      if (pending.quotaGranted > 0) {
        postings.push({
          dormitoryId: record.dormitoryId,
          purse: record.purse,
          kind: 'quota_grant',
          amount: 0,
          usage: pending.quotaGranted,
          meterId: record.meterId,
          occurredAt: new Date(pending.firstAt),
          details: { note: 'monthly free quota', month: record.cursor.billing.monthKey },
        });
      }
      if (pending.usage > 0 || pending.amount > 0) {
        postings.push({
          dormitoryId: record.dormitoryId,
          purse: record.purse,
          kind: 'consumption_charge',
          amount: -pending.amount,
          usage: pending.usage,
          meterId: record.meterId,
          occurredAt: new Date(pending.lastAt),
          details: { fromRegister: pending.fromRegister, toRegister: pending.toRegister, freeUsed: pending.freeUsed, from: new Date(pending.firstAt).toISOString(), parts: Object.values(pending.parts) },
        });
      }
    }
    if (postings.length) await appendPostings(trx, postings);
    for (const slice of chunks([...cursors.values()])) {
      // One statement per slice of cursors (last value per meter wins).
      await trx
        .insertInto('billing_cursors')
        .values(
          slice.map((r) => ({
            meter_id: r.meterId,
            register: r.cursor.register,
            read_at: new Date(r.cursor.readAt),
            billing_state: JSON.stringify(r.cursor.billing),
            updated_at: new Date(),
          })),
        )
        .onConflict((oc) =>
          oc.column('meter_id').doUpdateSet((eb) => ({
            register: eb.ref('excluded.register'),
            read_at: eb.ref('excluded.read_at'),
            billing_state: eb.ref('excluded.billing_state'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    }
    for (const c of batch.commands.values()) {
      const row = {
        id: c.id,
        dormitory_id: c.dormitoryId,
        meter_id: c.meterId,
        target: c.target,
        action: c.action,
        reason: c.reason,
        state: c.state,
        requested_by: c.requestedBy,
        requested_at: new Date(c.requestedAt),
        sent_at: c.sentAt ? new Date(c.sentAt) : null,
        completed_at: c.completedAt ? new Date(c.completedAt) : null,
        detail: c.detail ?? null,
      };
      await trx
        .insertInto('commands')
        .values(row)
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            state: eb.ref('excluded.state'),
            sent_at: eb.fn.coalesce('excluded.sent_at', 'commands.sent_at'),
            completed_at: eb.fn.coalesce('excluded.completed_at', 'commands.completed_at'),
            detail: eb.fn.coalesce('excluded.detail', 'commands.detail'),
          })),
        )
        .execute();
    }
    for (const slice of chunks(batch.alarms)) {
      await trx
        .insertInto('alarms')
        .values(
          slice.map((a) => ({
            dormitory_id: a.dormitoryId,
            meter_id: a.meterId,
            gateway_id: a.gatewayId,
            circuit: a.circuit,
            kind: a.kind,
            severity: a.severity,
            message: a.message,
            evidence: JSON.stringify(a.evidence),
            raised_at: new Date(a.raisedAt),
          })),
        )
        .execute();
    }
    for (const c of batch.clearances) {
      let q = trx.updateTable('alarms').set({ state: 'cleared' }).where('kind', '=', c.kind).where('state', '=', 'active');
      q = c.dormitoryId === null ? q.where('dormitory_id', 'is', null).where('gateway_id', '=', c.gatewayId ?? '') : q.where('dormitory_id', '=', c.dormitoryId);
      q = c.circuit === null ? q.where('circuit', 'is', null) : q.where('circuit', '=', c.circuit);
      await q.execute();
    }
    for (const slice of chunks(batch.events)) {
      await trx
        .insertInto('events')
        .values(
          slice.map((e) => ({
            dormitory_id: e.dormitoryId,
            meter_id: e.meterId,
            gateway_id: e.gatewayId,
            kind: e.kind,
            from_state: e.fromState,
            to_state: e.toState,
            details: JSON.stringify(e.details),
            occurred_at: new Date(e.occurredAt),
          })),
        )
        .execute();
    }
    for (const slice of chunks([...batch.intervals.values()])) {
      await trx
        .insertInto('interval_readings')
        .values(
          slice.map((i) => ({
            meter_id: i.meterId,
            channel: i.channel,
            interval_start: new Date(i.intervalStart),
            usage: i.usage,
            max_power_w: Math.round(i.maxPowerW),
            register_end: i.registerEnd,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['meter_id', 'channel', 'interval_start']).doUpdateSet((eb) => ({
            usage: eb('interval_readings.usage', '+', eb.ref('excluded.usage')),
            max_power_w: eb.fn('greatest', ['interval_readings.max_power_w', 'excluded.max_power_w']),
            register_end: eb.ref('excluded.register_end'),
          })),
        )
        .execute();
    }
    await upsertControlStates(trx, [...batch.controls.values()]);
    if (batch.states.size) await updateDormitoryStates(trx, batch.states);
    for (const slice of chunks(batch.audit)) {
      await trx
        .insertInto('audit_log')
        .values(slice.map((r) => ({ operator: r.operator, action: r.action, target_type: r.targetType, target_id: r.targetId, details: JSON.stringify(r.details ?? {}) })))
        .execute();
    }
  }
}
