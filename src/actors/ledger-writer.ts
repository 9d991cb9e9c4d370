import { sql, type Kysely, type Transaction } from 'kysely';
import type { Logger } from 'pino';
import { chunks } from '../db/chunks.ts';
import { isConnectionFailure } from '../db/connection-failure.ts';
import { RuntimeFenceError, type RuntimeFence } from '../db/runtime-lock.ts';
import type { Database, Purse } from '../db/database.ts';
import type { Executor } from '../db/executor.ts';
import { randomUUID } from 'node:crypto';
import { appendPostings, postingKeysPresent, type LedgerPosting } from '../db/ledger.repository.ts';
import { claimCommitKey, pruneCommitKeys } from '../db/ledger-commit.repository.ts';
import type { AuditRecord } from '../db/audit.repository.ts';
import { upsertControlStates, type ControlStateRecord } from '../db/control-state.repository.ts';
import { updateDormitoryStates } from '../db/dormitory.repository.ts';
import { escapeControlCharacters } from '../domain/control-characters.ts';
import { enqueueNotifications } from '../db/notification.repository.ts';
import { announceAlarm, announceEvent, type Announcement } from '../domain/notifications/announcement.ts';
import type { BillingCursor, PendingCharge } from '../domain/register-billing.ts';
import type { Metrics } from '../metrics/metrics.ts';

/**
 * One meter's billed consumption since its last posting, and its new cursor. A record with no
 * meter is the purse's own (the office issued quota, or unused quota lapsed at its period's
 * end): it posts its quota entries and the purse's state, and moves no cursor.
 */
export interface BillingRecord {
  readonly meterId: string | null;
  readonly dormitoryId: string;
  readonly purse: Purse;
  readonly pending: PendingCharge | null;
  /** The meter's new position, with its purse's billing state after these charges (the dormitory's). */
  readonly cursor: BillingCursor;
  /** The tariff that priced the pending charge (its versions are on the parts). */
  readonly tariffId?: string | null;
  /** The operator who issued the quota of a purse record. */
  readonly issuedBy?: string;
  /** The audit row of the operator action behind this record (a quota issuance): written in the same transaction as the record, never apart from it. */
  readonly audit?: AuditRecord;
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
  /** Only this meter's alarms (undefined: any meter of the dormitory). */
  readonly meterId?: string | undefined;
  readonly circuit: string | null;
  readonly kind: string;
  /** An operator resolved it: the alarm is `released` by them rather than `cleared`. */
  readonly releasedBy?: string | undefined;
  /** Only the alarm about this command (its evidence names it: a command_failed alarm). */
  readonly commandId?: string | undefined;
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
  /**
   * The key its transaction claims (`ledger_commits`), made at its first attempt. A batch whose
   * commit may have gone through (the connection failed) is retried whole with the same key.
   */
  commitKey?: string;
  /** Set once a commit of it failed for want of a database: it may be in the ledger already. */
  retried?: boolean;
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

/** A dormitory's live state, as a batch item. */
export interface DormitoryStateRecord {
  readonly dormitoryId: string;
  readonly state: string;
}

/** One item of a batch, on its own: what is split off, retried and dead-lettered. */
export type LedgerItem =
  | { readonly kind: 'billing'; readonly record: BillingRecord }
  | { readonly kind: 'command'; readonly record: CommandRecord }
  | { readonly kind: 'alarm'; readonly record: AlarmRecord }
  | { readonly kind: 'clearance'; readonly record: AlarmClearance }
  | { readonly kind: 'event'; readonly record: EventRecord }
  | { readonly kind: 'interval'; readonly record: IntervalRecord }
  | { readonly kind: 'control'; readonly record: ControlStateRecord }
  | { readonly kind: 'state'; readonly record: DormitoryStateRecord }
  | { readonly kind: 'audit'; readonly record: AuditRecord };

const emptyBatch = (): Batch => ({ billing: [], commands: new Map(), alarms: [], clearances: [], events: [], intervals: new Map(), audit: [], controls: new Map(), states: new Map() });
const sizeOf = (b: Batch) => b.billing.length + b.commands.size + b.alarms.length + b.clearances.length + b.events.length + b.intervals.size + b.audit.length + b.controls.size + b.states.size;
const controlKey = (r: ControlStateRecord) => `${r.dormitoryId}|${r.actorKey}`;
const intervalKey = (r: IntervalRecord) => `${r.meterId}|${r.channel}|${r.intervalStart}`;

/** The batch's items in the order `write` commits them (alarms before the clearances that may clear them). */
function itemsOf(b: Batch): LedgerItem[] {
  return [
    ...b.billing.map((record) => ({ kind: 'billing', record }) as const),
    ...[...b.commands.values()].map((record) => ({ kind: 'command', record }) as const),
    ...b.alarms.map((record) => ({ kind: 'alarm', record }) as const),
    ...b.clearances.map((record) => ({ kind: 'clearance', record }) as const),
    ...b.events.map((record) => ({ kind: 'event', record }) as const),
    ...[...b.intervals.values()].map((record) => ({ kind: 'interval', record }) as const),
    ...[...b.controls.values()].map((record) => ({ kind: 'control', record }) as const),
    ...[...b.states].map(([dormitoryId, state]) => ({ kind: 'state', record: { dormitoryId, state } }) as const),
    ...b.audit.map((record) => ({ kind: 'audit', record }) as const),
  ];
}

function mergeCommand(batch: Batch, record: CommandRecord): void {
  const previous = batch.commands.get(record.id);
  batch.commands.set(record.id, previous ? { ...previous, ...record, sentAt: record.sentAt ?? previous.sentAt, completedAt: record.completedAt ?? previous.completedAt } : record);
}

function mergeInterval(batch: Batch, record: IntervalRecord): void {
  const key = intervalKey(record);
  const previous = batch.intervals.get(key);
  batch.intervals.set(key, previous ? { ...record, usage: previous.usage + record.usage, maxPowerW: Math.max(previous.maxPowerW, record.maxPowerW) } : record);
}

function addItem(batch: Batch, item: LedgerItem): void {
  switch (item.kind) {
    case 'billing':
      batch.billing.push(item.record);
      return;
    case 'command':
      mergeCommand(batch, item.record);
      return;
    case 'alarm':
      batch.alarms.push(item.record);
      return;
    case 'clearance':
      batch.clearances.push(item.record);
      return;
    case 'event':
      batch.events.push(item.record);
      return;
    case 'interval':
      mergeInterval(batch, item.record);
      return;
    case 'control':
      batch.controls.set(controlKey(item.record), item.record);
      return;
    case 'state':
      batch.states.set(item.record.dormitoryId, item.record.state);
      return;
    case 'audit':
      batch.audit.push(item.record);
      return;
  }
}

function batchOf(items: readonly LedgerItem[]): Batch {
  const batch = emptyBatch();
  for (const item of items) addItem(batch, item);
  return batch;
}

/** The tariff id and the versions that priced a charge, as its ledger entry records them. */
function tariffOf(record: BillingRecord): { id: string | null; versions: number[] } {
  const versions = new Set<number>();
  for (const part of Object.values(record.pending?.parts ?? {})) if (part.version !== null) versions.add(part.version);
  return { id: record.tariffId ?? null, versions: [...versions].sort((a, b) => a - b) };
}

/** What the writer is doing, for /health and close(). */
export interface LedgerWriterStatus {
  /** Items buffered, not yet committed. */
  readonly pending: number;
  /** The last commit failed because the database is away; the batch waits and is retried in order. */
  readonly waitingForDatabase: boolean;
  readonly lastError: string | undefined;
  /** Items parked in ledger_dead_letters since start. */
  readonly deadLetters: number;
  /** Dormitories are asked to hold their charges (the database is away, or `maxPendingItems` is reached). */
  readonly backpressure: boolean;
}

/**
 * What the dormitories look at before they hand their periodic charges to the ledger: while it
 * is engaged they keep accumulating each meter's pending charge in place (one per meter) and
 * post it once it is released, so an outage grows no queue of postings.
 */
export interface LedgerPressure {
  readonly backpressure: boolean;
}

export interface LedgerWriterOptions {
  readonly db: Kysely<Database>;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Real-time group-commit interval: persistence cadence is wall-clock, whatever the simulated speed. */
  readonly flushMs: number;
  readonly batchSize: number;
  /** Told after a commit that raised or cleared alarms of these dormitories (the live view recounts them). */
  readonly alarmsChanged?: (dormitoryIds: ReadonlySet<string>) => void;
  /** How long close() keeps retrying a database that is away before it reports what it could not write. Default 10 000. */
  readonly closeTimeoutMs?: number;
  /**
   * Above this many buffered items backpressure is engaged even while commits succeed (they are
   * slower than the items arrive). Default 50 000.
   */
  readonly maxPendingItems?: number;
  /** Items at most in one transaction: a larger backlog (after an outage) commits in slices, each a turn of its own. Default 2 000. */
  readonly maxCommitItems?: number;
  /**
   * How long a write-ahead keeps its caller waiting (wall time) before it answers 'pending' and
   * the cut goes to the driver anyway; the commit goes on. Default 250.
   */
  readonly writeAheadMaxWaitMs?: number;
  /**
   * Run first in every transaction that writes (src/db/runtime-lock.ts `fence`): throws
   * RuntimeFenceError when this server no longer holds the runtime lock, and the items wait (as
   * for a database that is away) instead of being written beside another server's. Unset: no check.
   */
  readonly fence?: RuntimeFence | undefined;
  /**
   * The database runs in another process (PostgreSQL): a write-ahead need not wait for its WAL
   * fsync, since its COMMIT survives this process being killed. False (the default) for PGlite,
   * which lives in this process and dies with it: there only the fsync makes a write-ahead durable.
   */
  readonly databaseOutlivesProcess?: boolean;
}

/** What a circuit persists before its command goes to the driver (docs/architecture.md, "Write-ahead of a cut"). */
export interface WriteAheadEntry {
  readonly control?: ControlStateRecord;
  readonly command?: CommandRecord;
}

/**
 * - committed: durable;
 * - queued: not written (the database is away, or the writer is closing); the items wait in the
 *   group commit and are retried in order;
 * - pending: still committing when the bounded wait ran out; if it fails, the items are queued.
 */
export type WriteAheadOutcome = 'committed' | 'queued' | 'pending';

/** The part of the writer the actors use to persist a decision before they act on it. */
export interface WriteAhead {
  writeAhead(entry: WriteAheadEntry): Promise<WriteAheadOutcome>;
}

interface AheadRequest {
  readonly entry: WriteAheadEntry;
  readonly settle: (outcome: WriteAheadOutcome) => void;
}

const DEFAULT_MAX_PENDING_ITEMS = 50_000;
const DEFAULT_MAX_COMMIT_ITEMS = 2_000;
const DEFAULT_WRITE_AHEAD_MAX_WAIT_MS = 250;
/** Commit keys are pruned every this many commits: those older than a week by the database's clock (its `now()` stamps them). */
const PRUNE_COMMIT_KEYS_EVERY = 500;
const COMMIT_KEYS_KEPT_DAYS = 7;

/**
 * The group committer behind the `ledger` actor. Items are buffered in memory and written in
 * one transaction per flush (by time or batch size): ledger postings together with the
 * billing cursors they advance (exactly-once billing), command lifecycle rows, alarms,
 * events, interval readings and audit records. One flush runs at a time.
 *
 * A failed commit is one of two things:
 * - the database is away (connection refused or terminated, server restarting): the whole
 *   batch is kept in front of what arrives meanwhile and retried with backoff, so it commits
 *   in order when the database returns;
 * - an item the database refuses (a NUL in a text, a broken constraint): the batch is split in
 *   halves until the bad item is alone; every good half commits, the bad item goes to
 *   `ledger_dead_letters` with its error and an alarm, and nothing else waits for it.
 */
export class LedgerWriter implements LedgerPressure, WriteAhead {
  /**
   * A name for each billing record, made the first time it is written and kept while the record
   * waits (a retry, a split batch): its postings carry it (`posting_key`). A commit whose reply
   * was lost (the connection dropped after the database committed) is retried like any commit
   * refused for want of a database; the retry finds the keys already in the ledger and skips those
   * postings. Without them it charged the same register range twice (an outside attack found 9 and
   * 11 meters billed twice by one cut connection).
   */
  private readonly recordKeys = new WeakMap<BillingRecord, string>();
  /** Postings a retried commit found already written, and skipped. */
  postingsAlreadyWritten = 0;

  private batch: Batch = emptyBatch();
  /**
   * A batch whose commit failed for want of a database, kept whole (never merged with what came
   * after) and committed on its own before anything else, with the key it had: if its first
   * attempt did commit and only the reply was lost, its transaction finds the key taken and writes
   * nothing again (`commitsAlreadyWritten`).
   */
  private retrying: Batch | undefined;
  /** Retried commits that found their first attempt committed, and wrote nothing. */
  commitsAlreadyWritten = 0;
  private commitsSincePrune = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /** The control keys of the batch being committed (a write-ahead of one of them waits for it). */
  private flushingKeys: ReadonlySet<string> = new Set();
  /** Write-aheads asked for while one commits: they commit together next. */
  private aheadQueue: AheadRequest[] = [];
  private ahead: Promise<void> | undefined;
  /** The control keys of the write-ahead being committed (a group commit holding one of them waits for it). */
  private aheadKeys: ReadonlySet<string> = new Set();
  /** The newest `seq` seen per control key: an older record is stale and dropped. */
  private readonly controlSeq = new Map<string, number>();
  private retryDelayMs = 0;
  private lastError: string | undefined;
  /** The last commit was refused by the runtime fence (a flush then fails with RuntimeFenceError: a 503 to an HTTP caller). */
  private fenced = false;
  private deadLetters = 0;
  private closed = false;

  private readonly maxPendingItems: number;
  private readonly maxCommitItems: number;
  private readonly writeAheadMaxWaitMs: number;

  constructor(private readonly options: LedgerWriterOptions) {
    this.maxPendingItems = options.maxPendingItems ?? DEFAULT_MAX_PENDING_ITEMS;
    this.maxCommitItems = Math.max(1, options.maxCommitItems ?? DEFAULT_MAX_COMMIT_ITEMS);
    this.writeAheadMaxWaitMs = options.writeAheadMaxWaitMs ?? DEFAULT_WRITE_AHEAD_MAX_WAIT_MS;
    options.metrics.ledgerPending.source = () => ({ pending: this.pending, pendingByKind: this.pendingByKind(), backpressure: this.backpressure });
  }

  /** Items buffered and not yet committed (the slice being committed not counted). */
  get pending(): number {
    return sizeOf(this.batch) + (this.retrying ? sizeOf(this.retrying) : 0);
  }

  /** Engaged while the database is away or the buffer is over `maxPendingItems` (see LedgerPressure). */
  get backpressure(): boolean {
    return this.retryDelayMs > 0 || this.pending >= this.maxPendingItems;
  }

  get status(): LedgerWriterStatus {
    return { pending: this.pending, waitingForDatabase: this.retryDelayMs > 0, lastError: this.lastError, deadLetters: this.deadLetters, backpressure: this.backpressure };
  }

  /** Buffered items by kind: what an outage holds in memory (`campus_ledger_pending_items{kind}`). */
  pendingByKind(): Record<LedgerItem['kind'], number> {
    const r = this.retrying;
    const b = this.batch;
    return {
      billing: b.billing.length + (r?.billing.length ?? 0),
      command: b.commands.size + (r?.commands.size ?? 0),
      alarm: b.alarms.length + (r?.alarms.length ?? 0),
      clearance: b.clearances.length + (r?.clearances.length ?? 0),
      event: b.events.length + (r?.events.length ?? 0),
      interval: b.intervals.size + (r?.intervals.size ?? 0),
      control: b.controls.size + (r?.controls.size ?? 0),
      state: b.states.size + (r?.states.size ?? 0),
      audit: b.audit.length + (r?.audit.length ?? 0),
    };
  }

  addBilling(record: BillingRecord): void {
    this.batch.billing.push(record);
    this.scheduled();
  }

  addCommand(record: CommandRecord): void {
    mergeCommand(this.batch, record);
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
    mergeInterval(this.batch, record);
    this.scheduled();
  }

  addAudit(record: AuditRecord): void {
    this.batch.audit.push(record);
    this.scheduled();
  }

  /** A dormitory's, meter's or circuit's control state changed (docs/architecture.md, "Control state snapshot"). */
  addControl(record: ControlStateRecord): void {
    if (!this.newestControl(record)) return;
    this.batch.controls.set(controlKey(record), record);
    this.scheduled();
  }

  /** False when a newer state of the same actor was already seen (this one is stale); notes the record's seq otherwise. */
  private newestControl(record: ControlStateRecord): boolean {
    if (record.seq === undefined) return true;
    const key = controlKey(record);
    const newest = this.controlSeq.get(key);
    if (newest !== undefined && record.seq < newest) return false;
    this.controlSeq.set(key, record.seq);
    return true;
  }

  private isNewestControl(record: ControlStateRecord): boolean {
    const newest = record.seq === undefined ? undefined : this.controlSeq.get(controlKey(record));
    return newest === undefined || record.seq! >= newest;
  }

  /**
   * Commits a circuit's control state and its command record now, in a small transaction of
   * their own, ahead of the group commit: the circuit hands its cut to the driver when this
   * resolves. Requests that arrive while one commits are committed together next (a burst of
   * cuts, e.g. a schedule's, is a few transactions, not one each). Never rejects and never keeps
   * its caller longer than `writeAheadMaxWaitMs`: safety before bookkeeping (see
   * WriteAheadOutcome). The command row is only inserted (a later lifecycle state already in the
   * group commit is never regressed), and the control state supersedes an older one of its actor
   * still queued for the group commit.
   */
  writeAhead(entry: WriteAheadEntry): Promise<WriteAheadOutcome> {
    if (entry.control && !this.newestControl(entry.control)) entry = { command: entry.command };
    if (this.closed || this.retryDelayMs > 0) {
      // The database is away (or going): do not wait for it; the items wait in order.
      this.queueAhead(entry);
      this.options.metrics.writeAheads.inc({ outcome: 'queued' });
      return Promise.resolve('queued');
    }
    if (entry.control) {
      const key = controlKey(entry.control);
      const queued = this.batch.controls.get(key);
      if (queued && (queued.seq === undefined || queued.seq <= (entry.control.seq ?? Infinity))) this.batch.controls.delete(key);
    }
    return new Promise((resolve) => {
      let settled = false;
      const timer = setTimeout(() => settle('pending'), this.writeAheadMaxWaitMs);
      const settle = (outcome: WriteAheadOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.options.metrics.writeAheads.inc({ outcome });
        resolve(outcome);
      };
      this.aheadQueue.push({ entry, settle });
      if (!this.ahead) this.ahead = this.runAhead();
    });
  }

  /** Commits the queued write-aheads, a group at a time, until none is left. */
  private async runAhead(): Promise<void> {
    try {
      while (this.aheadQueue.length > 0) {
        const group = this.aheadQueue;
        this.aheadQueue = [];
        const controls = new Map<string, ControlStateRecord>();
        const commands: CommandRecord[] = [];
        for (const { entry } of group) {
          if (entry.control) controls.set(controlKey(entry.control), entry.control);
          if (entry.command) commands.push(entry.command);
        }
        const keys = new Set(controls.keys());
        // A group commit already writing one of these actors writes an older state: let it land first.
        const flushing = this.flushing;
        if (flushing && [...keys].some((k) => this.flushingKeys.has(k))) await flushing;
        this.aheadKeys = keys;
        const started = performance.now();
        try {
          const newest = [...controls.values()].filter((r) => this.isNewestControl(r));
          // One statement needs no transaction of its own (a round trip less, each way: PGlite runs them on the main thread).
          const fence = this.options.fence;
          if (!fence && (newest.length === 0 || commands.length === 0)) {
            await upsertControlStates(this.options.db, newest);
            await insertRequestedCommands(this.options.db, commands);
          } else {
            await this.options.db.transaction().execute(async (trx) => {
              // On PostgreSQL: durable against this process dying (a SIGKILL, the reason for the
              // write-ahead) the moment COMMIT answers; only a crash of PostgreSQL itself within its
              // WAL writer's delay (3 x 200 ms) could lose it. Waiting for the fsync put the cut behind
              // the WAL of whatever large group commit was flushing (docs/architecture.md,
              // "Write-ahead of a cut"). Not on PGlite: it dies with this process.
              if (this.options.databaseOutlivesProcess) await sql`set local synchronous_commit = off`.execute(trx);
              await fence?.(trx);
              await upsertControlStates(trx, newest);
              await insertRequestedCommands(trx, commands);
            });
          }
          this.options.metrics.writeAheadSeconds.observe((performance.now() - started) / 1000);
          for (const request of group) request.settle('committed');
        } catch (error) {
          this.options.metrics.ledgerFailures.inc();
          this.options.log.warn({ err: error, items: controls.size + commands.length }, 'write-ahead failed; its items wait in the group commit');
          for (const request of group) {
            this.queueAhead(request.entry);
            request.settle('queued');
          }
        } finally {
          this.aheadKeys = new Set();
        }
      }
    } finally {
      this.ahead = undefined;
    }
  }

  /** A write-ahead that could not be written joins the group commit (a newer state or lifecycle record of the same item wins). */
  private queueAhead(entry: WriteAheadEntry): void {
    if (entry.control && this.newestControl(entry.control)) this.batch.controls.set(controlKey(entry.control), entry.control);
    if (entry.command && !this.batch.commands.has(entry.command.id)) this.batch.commands.set(entry.command.id, entry.command);
    this.scheduled();
  }

  /** A dormitory's live state changed: `GET /api/dormitories?state=` filters on it. */
  setDormitoryState(dormitoryId: string, state: string): void {
    this.batch.states.set(dormitoryId, state);
    this.scheduled();
  }

  /**
   * Commits everything buffered so far (and anything in flight); resolves once it is committed
   * or dead-lettered, rejects while the database is away (the items stay queued).
   */
  async flushNow(): Promise<void> {
    while (this.ahead) await this.ahead;
    while (this.flushing) await this.flushing;
    // What is buffered now commits in this many slices (taken from the front; newer items queue behind).
    for (let slices = Math.ceil(sizeOf(this.batch) / this.maxCommitItems) + (this.retrying ? 1 : 0); slices > 0 && this.pending > 0; slices--) {
      await this.runFlush();
      if (this.pending > 0 && this.retryDelayMs > 0) {
        if (this.fenced) throw new RuntimeFenceError(`ledger commit refused; batch kept for retry (${this.lastError ?? 'the runtime lock is not held'})`);
        throw new Error(`ledger commit failed; batch kept for retry (${this.lastError ?? 'unknown error'})`);
      }
      while (this.flushing) await this.flushing;
    }
  }

  /**
   * Stops scheduling and drains: retries a database that is away until `closeTimeoutMs`, then
   * reports (logs and returns) every item it could not write. Their billing cursors were not
   * advanced, so the next reading after a restart bills that consumption again, once.
   */
  async close(): Promise<{ readonly unwritten: readonly LedgerItem[] }> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const deadline = Date.now() + (this.options.closeTimeoutMs ?? 10_000);
    for (;;) {
      try {
        await this.flushNow();
        break;
      } catch (error) {
        const remainingMs = deadline - Date.now();
        if (remainingMs <= 0) {
          this.options.log.error({ err: error, pending: this.pending }, 'ledger could not flush on close');
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(this.retryDelayMs || 100, remainingMs)));
      }
    }
    const unwritten = [...(this.retrying ? itemsOf(this.retrying) : []), ...itemsOf(this.batch)];
    if (unwritten.length > 0) {
      this.options.log.error({ count: unwritten.length, unwritten: unwritten.map((item) => ({ kind: item.kind, item: JSON.stringify(item.record) })) }, 'ledger closed with unwritten items (listed; their billing cursors were not advanced)');
    }
    return { unwritten };
  }

  private scheduled(): void {
    // After close() nothing starts a commit (the database may be gone): late items stay
    // unwritten. Billing stays exactly-once: a charge's cursor is written with it or not at all.
    if (this.closed) return;
    if (sizeOf(this.batch) >= this.options.batchSize && !this.flushing && this.retryDelayMs === 0 && !this.retrying) {
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
    // A batch being retried commits alone and whole, with its key, before anything newer.
    let batch = this.retrying ?? this.batch;
    if (sizeOf(batch) === 0) return Promise.resolve();
    if (!this.retrying) {
      if (sizeOf(batch) > this.maxCommitItems) {
        // A backlog commits in slices, in the order one transaction would have written them:
        // each slice is a transaction and a turn of its own, so no commit holds the thread (PGlite)
        // or the connection for long. Items that arrive meanwhile go behind the rest.
        const items = itemsOf(batch);
        batch = batchOf(items.slice(0, this.maxCommitItems));
        this.batch = batchOf(items.slice(this.maxCommitItems));
      } else this.batch = emptyBatch();
    }
    const keys = new Set(batch.controls.keys());
    this.flushingKeys = keys;
    // A write-ahead committing one of these actors carries a newer state: it lands first, this one is dropped from the batch.
    const ahead = this.ahead && [...keys].some((k) => this.aheadKeys.has(k)) ? this.ahead : undefined;
    const commit = ahead ? ahead.then(() => this.commitOrIsolate(batch)) : this.commitOrIsolate(batch);
    this.flushing = commit.finally(() => {
      this.flushing = undefined;
      this.flushingKeys = new Set();
      if (this.pending > 0 && !this.closed) this.scheduled();
    });
    return this.flushing;
  }

  private async commitOrIsolate(batch: Batch): Promise<void> {
    const started = performance.now();
    try {
      await this.commit(batch);
      if (batch === this.retrying) this.retrying = undefined;
      this.recovered();
      this.options.metrics.ledgerBatchSize.observe(sizeOf(batch));
      this.options.metrics.ledgerCommitSeconds.observe((performance.now() - started) / 1000);
      return;
    } catch (error) {
      this.options.metrics.ledgerFailures.inc();
      if (error instanceof RuntimeFenceError || isConnectionFailure(error) || !(await this.databaseReachable())) {
        this.waitForDatabase(error, sizeOf(batch));
        batch.retried = true;
        this.retrying = batch;
        return;
      }
      // Refused: it rolled back, nothing of it is in the ledger; its items are split under new keys.
      if (batch === this.retrying) this.retrying = undefined;
      this.options.log.warn({ err: error, items: sizeOf(batch) }, 'ledger commit refused; splitting the batch to isolate the bad item');
      const unwritten = await this.isolate(itemsOf(batch), error);
      if (!unwritten.unsure && unwritten.items.length === 0) {
        this.recovered();
        return;
      }
      this.waitForDatabase(unwritten.error, unwritten.items.length + (unwritten.unsure ? sizeOf(unwritten.unsure) : 0));
      this.retrying = unwritten.unsure;
      this.requeue(batchOf(unwritten.items));
    }
  }

  /**
   * Bisects a refused batch: each half is committed on its own; a half that fails is split
   * again, a single item that fails is dead-lettered. Stops at the first sign that the
   * database itself is away and returns what is left, in order.
   */
  private async isolate(items: readonly LedgerItem[], firstError: unknown): Promise<{ unsure?: Batch; items: LedgerItem[]; error: unknown }> {
    const segments: LedgerItem[][] = items.length === 1 ? [] : halves(items);
    if (items.length === 1) {
      const dead = await this.deadLetter(items[0]!, firstError);
      if (dead !== true) return { items: [...items], error: dead };
    }
    while (segments.length > 0) {
      const segment = segments.shift()!;
      const attempt = batchOf(segment);
      try {
        await this.commit(attempt);
        continue;
      } catch (error) {
        this.options.metrics.ledgerFailures.inc();
        // The segment may have committed (its reply lost): it is retried whole with its key; the rest never ran.
        if (error instanceof RuntimeFenceError || isConnectionFailure(error) || !(await this.databaseReachable())) return { unsure: { ...attempt, retried: true }, items: segments.flat(), error };
        if (segment.length > 1) {
          segments.unshift(...halves(segment));
          continue;
        }
        const dead = await this.deadLetter(segment[0]!, error);
        if (dead !== true) return { items: [segment, ...segments].flat(), error: dead };
      }
    }
    return { items: [], error: undefined };
  }

  /** Parks one item with its error and raises an alarm, in one transaction. Returns true, or the error that stopped it. */
  private async deadLetter(item: LedgerItem, cause: unknown): Promise<true | unknown> {
    const errorText = escapeControlCharacters(cause instanceof Error ? cause.message : String(cause)).slice(0, 2000);
    try {
      await this.options.db.transaction().execute(async (trx) => {
        const row = await trx.insertInto('ledger_dead_letters').values({ kind: item.kind, item: JSON.stringify(item.record), error: errorText }).returning('id').executeTakeFirstOrThrow();
        // No dormitory or meter reference: the bad value may be that very reference.
        await trx
          .insertInto('alarms')
          .values({
            dormitory_id: null,
            meter_id: null,
            gateway_id: null,
            circuit: null,
            kind: 'ledger_dead_letter',
            severity: 'critical',
            message: `the ledger could not write a ${item.kind} item (dead letter ${row.id}): ${errorText.slice(0, 300)}`,
            evidence: JSON.stringify([{ deadLetterId: row.id, kind: item.kind }]),
            raised_at: new Date(),
          })
          .execute();
      });
    } catch (error) {
      this.options.log.error({ err: error, kind: item.kind }, 'could not dead-letter a ledger item; it stays queued');
      return error;
    }
    this.deadLetters++;
    this.options.metrics.ledgerDeadLetters.inc({ kind: item.kind });
    this.options.metrics.alarmsRaised.inc({ kind: 'ledger_dead_letter' });
    this.options.log.error({ kind: item.kind, item: JSON.stringify(item.record), error: errorText }, 'ledger item dead-lettered');
    return true;
  }

  private async databaseReachable(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.options.db);
      return true;
    } catch {
      return false;
    }
  }

  private async commit(batch: Batch): Promise<void> {
    const key = (batch.commitKey ??= randomUUID());
    const prune = ++this.commitsSincePrune >= PRUNE_COMMIT_KEYS_EVERY;
    const written = await this.options.db.transaction().execute(async (trx) => {
      await this.options.fence?.(trx);
      if (!(await claimCommitKey(trx, key))) return false;
      await this.write(trx, batch);
      if (prune) await pruneCommitKeys(trx, COMMIT_KEYS_KEPT_DAYS);
      return true;
    });
    if (prune) this.commitsSincePrune = 0;
    if (!written) {
      this.commitsAlreadyWritten++;
      this.options.log.warn({ items: sizeOf(batch) }, 'a retried ledger commit had gone through (its reply was lost): nothing written again');
    }
    const touched = new Set<string>();
    for (const a of batch.alarms) if (a.dormitoryId) touched.add(a.dormitoryId);
    for (const c of batch.clearances) if (c.dormitoryId) touched.add(c.dormitoryId);
    if (touched.size) this.options.alarmsChanged?.(touched);
  }

  private recovered(): void {
    if (this.retryDelayMs > 0) this.options.log.info('ledger commits again');
    this.retryDelayMs = 0;
    this.fenced = false;
    this.lastError = undefined;
  }

  private waitForDatabase(error: unknown, items: number): void {
    this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, 100), 10_000);
    this.fenced = error instanceof RuntimeFenceError;
    this.lastError = escapeControlCharacters(error instanceof Error ? error.message : String(error)).slice(0, 500);
    this.options.log.error({ err: error, items, retryInMs: this.retryDelayMs }, 'ledger commit failed: database unavailable; the batch waits and is retried in order');
  }

  /** Puts unwritten items back in front of what arrived meanwhile. */
  private requeue(failed: Batch): void {
    const newer = this.batch;
    this.batch = failed;
    for (const item of itemsOf(newer)) addItem(this.batch, item);
  }

  private async write(trx: Transaction<Database>, batch: Batch): Promise<void> {
    const postings: LedgerPosting[] = [];
    const cursors = new Map<string, BillingRecord & { readonly meterId: string }>();
    for (const record of batch.billing) {
      if (record.meterId !== null) cursors.set(record.meterId, { ...record, meterId: record.meterId });
      const pending = record.pending;
      if (!pending) continue;
      let key = this.recordKeys.get(record);
      if (key === undefined) this.recordKeys.set(record, (key = randomUUID()));
      // Unused quota lapses before a new period's grant: each lapse is its own entry (amount 0).
      let lapseIndex = 0;
      for (const lapse of pending.quotaLapsed ?? []) {
        postings.push({
          postingKey: `${key}:lapse:${lapseIndex++}`,
          dormitoryId: record.dormitoryId,
          purse: record.purse,
          kind: 'quota_expiry',
          amount: 0,
          usage: lapse.units,
          meterId: record.meterId,
          occurredAt: new Date(pending.firstAt),
          details: { note: 'unused free quota lapsed at the end of its period', period: { from: lapse.from, until: lapse.until } },
        });
      }
      if (pending.quotaGranted > 0) {
        const billing = record.cursor.billing;
        postings.push({
          postingKey: `${key}:grant`,
          dormitoryId: record.dormitoryId,
          purse: record.purse,
          kind: 'quota_grant',
          amount: 0,
          usage: pending.quotaGranted,
          meterId: record.meterId,
          occurredAt: new Date(pending.firstAt),
          details: { note: record.meterId === null ? 'free quota issued' : 'free quota', month: billing.monthKey, period: { from: billing.quotaFrom ?? null, until: billing.quotaUntil ?? null }, ...(record.issuedBy ? { issuedBy: record.issuedBy } : {}) },
        });
      }
      if (pending.usage > 0 || pending.amount > 0) {
        postings.push({
          postingKey: `${key}:charge`,
          dormitoryId: record.dormitoryId,
          purse: record.purse,
          kind: 'consumption_charge',
          amount: -pending.amount,
          usage: pending.usage,
          meterId: record.meterId,
          occurredAt: new Date(pending.lastAt),
          details: { fromRegister: pending.fromRegister, toRegister: pending.toRegister, freeUsed: pending.freeUsed, from: new Date(pending.firstAt).toISOString(), tariff: tariffOf(record), parts: Object.values(pending.parts) },
        });
      }
    }
    if (postings.length) {
      // Written already by a commit whose reply was lost: skipped (their cursors are rewritten with
      // the same values). The commit key already stops a retried batch whole; this is the second line.
      const present = batch.retried ? await postingKeysPresent(trx, postings.map((p) => p.postingKey!)) : new Set<string>();
      const fresh = present.size === 0 ? postings : postings.filter((p) => !present.has(p.postingKey!));
      if (present.size > 0) {
        this.postingsAlreadyWritten += present.size;
        this.options.log.warn({ skipped: present.size }, 'a retried ledger commit found postings already written (the earlier commit went through; its reply was lost): skipped');
      }
      if (fresh.length) await appendPostings(trx, fresh);
    }
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
    // The purses' billing states (quota, tier position, carry), last per dormitory and purse.
    const purses = new Map<string, BillingRecord>();
    for (const record of batch.billing) purses.set(`${record.dormitoryId}|${record.purse}`, record);
    for (const slice of chunks([...purses.values()])) {
      await trx
        .insertInto('purse_billing_states')
        .values(slice.map((r) => ({ dormitory_id: r.dormitoryId, purse: r.purse, billing_state: JSON.stringify(r.cursor.billing), updated_at: new Date() })))
        .onConflict((oc) => oc.columns(['dormitory_id', 'purse']).doUpdateSet((eb) => ({ billing_state: eb.ref('excluded.billing_state'), updated_at: eb.ref('excluded.updated_at') })))
        .execute();
    }
    // One statement per slice of commands (keyed by id in the batch, so no row twice in a statement):
    // a campus-wide lights-off is one command per lighting circuit in one batch.
    for (const slice of chunks([...batch.commands.values()])) {
      await trx
        .insertInto('commands')
        .values(slice.map(commandRow))
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({
            // 'requested' is a command's first state: a late copy of it (a write-ahead queued after a failure) never regresses a later one.
            state: sql<CommandRecord['state']>`case when excluded.state = 'requested' then commands.state else excluded.state end`,
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
      let q = trx
        .updateTable('alarms')
        .set(c.releasedBy === undefined ? { state: 'cleared' } : { state: 'released', released_at: new Date(), released_by: c.releasedBy })
        .where('kind', '=', c.kind)
        .where('state', '=', 'active');
      q = c.dormitoryId === null ? q.where('dormitory_id', 'is', null).where('gateway_id', '=', c.gatewayId ?? '') : q.where('dormitory_id', '=', c.dormitoryId);
      q = c.circuit === null ? q.where('circuit', 'is', null) : q.where('circuit', '=', c.circuit);
      if (c.meterId !== undefined) q = q.where('meter_id', '=', c.meterId);
      if (c.commandId !== undefined) q = q.where(sql<boolean>`evidence @> ${JSON.stringify([{ commandId: c.commandId }])}::jsonb`);
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
    // The outbox: what these alarms and events announce, committed with them (docs/notifications.md).
    const announcements = [...batch.alarms.map(announceAlarm), ...batch.events.map(announceEvent)].filter((a): a is Announcement => a !== undefined);
    await enqueueNotifications(trx, announcements);
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
    // A state superseded by a newer one of its actor (written ahead meanwhile) is not written back over it.
    await upsertControlStates(trx, [...batch.controls.values()].filter((r) => this.isNewestControl(r)));
    if (batch.states.size) await updateDormitoryStates(trx, batch.states);
    const audits = [...batch.billing.flatMap((r) => (r.audit ? [r.audit] : [])), ...batch.audit];
    for (const slice of chunks(audits)) {
      await trx
        .insertInto('audit_log')
        .values(slice.map((r) => ({ operator: r.operator, action: r.action, target_type: r.targetType, target_id: r.targetId, details: JSON.stringify(r.details ?? {}) })))
        .execute();
    }
  }
}

function commandRow(c: CommandRecord) {
  return {
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
}

/** A write-ahead's command rows: inserted, never updated (the group commit owns the lifecycle after 'requested'). */
async function insertRequestedCommands(db: Executor, commands: readonly CommandRecord[]): Promise<void> {
  for (const slice of chunks(commands)) await db.insertInto('commands').values(slice.map(commandRow)).onConflict((oc) => oc.column('id').doNothing()).execute();
}

function halves<T>(items: readonly T[]): T[][] {
  const middle = Math.ceil(items.length / 2);
  return [items.slice(0, middle), items.slice(middle)];
}
