import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../clock.ts';
import type { Database, JobKind } from '../db/database.ts';
import { failInterruptedJobs, findJob, finishJob, insertJob, markJobRunning, type JobRecord, type RowError } from '../db/job.repository.ts';
import type { ImportRows, RowProblem } from '../domain/imports/import-rows.ts';
import type { JobFeed, JobProgress } from '../live/job-feed.ts';
import { applyImport, validateImport } from './import-apply.ts';
import { ImportRowFailed } from './import-row-failed.ts';
import type { LiveAccounts } from './occupancy.service.ts';

export interface ImportJobsDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly nodeId: string;
  readonly live?: LiveAccounts | undefined;
}

export interface ImportSubmission {
  readonly kind: JobKind;
  readonly rows: ImportRows;
  /** Problems found while parsing the sheet (they fail the job with the plan's own). */
  readonly problems: readonly RowProblem[];
  /** Data rows in the file (or students matched by a filter). */
  readonly total: number;
  readonly source: string;
  readonly operator: string;
}

class JobStopped extends Error {}

const byRow = (a: RowError, b: RowError) => a.row - b.row || a.field.localeCompare(b.field);

/**
 * Runs Excel batches one at a time in the background: validate the whole file (naming every
 * bad row), then apply every row in ONE transaction through the occupancy services, then tell
 * the live actors. State and errors are persisted in `jobs`; while a job is queued or running
 * its progress is held here (on PGlite the apply transaction holds the only connection, so
 * reading progress must not need the database), and pushed to subscribers (the WebSocket).
 */
export class ImportJobs implements JobFeed {
  private readonly listeners = new Set<(job: JobProgress) => void>();
  /** Jobs queued or running on this node: the source of truth for their progress. */
  private readonly active = new Map<string, JobRecord>();
  private chain: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(private readonly deps: ImportJobsDeps) {}

  /** Boot: fails the jobs that were queued or running when the server stopped (nothing of them committed). */
  async recover(): Promise<string[]> {
    const failed = await failInterruptedJobs(this.deps.db, new Date(this.deps.clock.now()));
    if (failed.length > 0) this.deps.log.warn({ jobs: failed }, 'jobs interrupted by a restart marked failed');
    return failed;
  }

  subscribe(listener: (job: JobProgress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async submit(submission: ImportSubmission): Promise<JobRecord> {
    if (this.stopping) throw new Error('the job runner is stopping');
    const job = await insertJob(this.deps.db, {
      id: randomUUID(),
      kind: submission.kind,
      total: submission.total,
      source: submission.source,
      nodeId: this.deps.nodeId,
      createdBy: submission.operator,
      createdAt: new Date(this.deps.clock.now()),
    });
    this.active.set(job.id, job);
    this.publish(job);
    this.chain = this.chain.then(() => this.run(job.id, submission));
    return job;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.active.get(id) ?? findJob(this.deps.db, id);
  }

  /** Stops taking jobs; the running one rolls back at its next row and is recorded failed. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.chain;
  }

  private update(id: string, change: Partial<JobRecord>): JobRecord {
    const job = { ...this.active.get(id)!, ...change };
    this.active.set(id, job);
    this.publish(job);
    return job;
  }

  private publish(job: JobRecord): void {
    const event: JobProgress = { id: job.id, kind: job.kind, state: job.state, progress: job.progress, errorCount: job.errors.length };
    for (const listener of this.listeners) listener(event);
  }

  private async run(id: string, submission: ImportSubmission): Promise<void> {
    const { db, clock, log } = this.deps;
    const total = submission.total;
    let errors: RowError[] = [];
    let summary: Record<string, unknown> = {};
    let done = 0;
    try {
      if (this.stopping) throw new JobStopped();
      await markJobRunning(db, id);
      this.update(id, { state: 'running' });
      const problems = [...submission.problems, ...(await validateImport(db, clock, submission.rows))];
      if (problems.length > 0) {
        errors = problems.map((p) => ({ row: p.row, field: p.field, message: p.message })).sort(byRow);
      } else {
        // Progress is pushed about a hundred times a job, however long the file.
        const step = Math.max(1, Math.ceil(total / 100));
        let reported = 0;
        summary = await applyImport({ db, clock, live: this.deps.live }, submission.rows, { jobId: id, operator: submission.operator }, (applied) => {
          if (this.stopping) throw new JobStopped();
          done = applied;
          if (applied - reported >= step || applied === total) {
            reported = applied;
            this.update(id, { progress: { done: applied, total } });
          }
        });
      }
    } catch (error) {
      done = 0; // the transaction rolled back: nothing applied
      if (error instanceof ImportRowFailed) errors = [error.rowError];
      else if (error instanceof JobStopped) errors = [{ row: 0, field: 'job', message: 'the server stopped before this job finished; nothing of it was applied: upload the file again' }];
      else {
        log.error({ err: error, job: id }, 'import job failed');
        errors = [{ row: 0, field: 'job', message: 'the job failed on an internal error; nothing of it was applied' }];
      }
    }
    const state = errors.length === 0 ? 'done' : 'failed';
    const finishedAt = new Date(clock.now());
    try {
      await finishJob(db, id, { state, done, errors, summary, at: finishedAt });
    } catch (error) {
      log.error({ err: error, job: id }, 'could not record the end of an import job');
    }
    this.update(id, { state, progress: { done, total }, errors, summary, finishedAt: finishedAt.toISOString() });
    this.active.delete(id);
  }
}
