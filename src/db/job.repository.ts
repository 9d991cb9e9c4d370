import type { JobKind, JobState } from './database.ts';
import type { Executor } from './executor.ts';

/** One bad row of a batch: the sheet's row number (the header is row 1), the column, why. */
export interface RowError {
  readonly row: number;
  readonly field: string;
  readonly message: string;
}

export interface JobRecord {
  readonly id: string;
  readonly kind: JobKind;
  readonly state: JobState;
  readonly progress: { readonly done: number; readonly total: number };
  readonly errors: readonly RowError[];
  readonly summary: Record<string, unknown>;
  readonly source: string;
  readonly createdBy: string;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}

const columns = ['id', 'kind', 'state', 'done', 'total', 'errors', 'summary', 'source', 'created_by', 'created_at', 'finished_at'] as const;

function toJob(r: {
  id: string;
  kind: JobKind;
  state: JobState;
  done: number;
  total: number;
  errors: RowError[];
  summary: Record<string, unknown>;
  source: string;
  created_by: string;
  created_at: Date;
  finished_at: Date | null;
}): JobRecord {
  return {
    id: r.id,
    kind: r.kind,
    state: r.state,
    progress: { done: r.done, total: r.total },
    errors: r.errors,
    summary: r.summary,
    source: r.source,
    createdBy: r.created_by,
    createdAt: new Date(r.created_at).toISOString(),
    finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null,
  };
}

export async function insertJob(
  db: Executor,
  job: { id: string; kind: JobKind; total: number; source: string; nodeId: string; createdBy: string; createdAt: Date },
): Promise<JobRecord> {
  const row = await db
    .insertInto('jobs')
    .values({ id: job.id, kind: job.kind, state: 'queued', total: job.total, source: job.source, node_id: job.nodeId, created_by: job.createdBy, created_at: job.createdAt })
    .returning(columns)
    .executeTakeFirstOrThrow();
  return toJob(row);
}

export async function findJob(db: Executor, id: string): Promise<JobRecord | undefined> {
  const row = await db.selectFrom('jobs').select(columns).where('id', '=', id).executeTakeFirst();
  return row ? toJob(row) : undefined;
}

export async function markJobRunning(db: Executor, id: string): Promise<void> {
  await db.updateTable('jobs').set({ state: 'running' }).where('id', '=', id).where('state', '=', 'queued').execute();
}

/** Records a job's end: done (every row applied) or failed (row errors, or why it stopped). */
export async function finishJob(
  db: Executor,
  id: string,
  end: { state: 'done' | 'failed'; done: number; errors: readonly RowError[]; summary: Record<string, unknown>; at: Date },
): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ state: end.state, done: end.done, errors: JSON.stringify(end.errors), summary: JSON.stringify(end.summary), finished_at: end.at })
    .where('id', '=', id)
    .execute();
}

/**
 * Boot: a job queued or running when the server stopped is failed (its transaction never
 * committed, so none of its rows applied). Returns the ids. Every unfinished job is failed, not
 * only this node's: NODE_ID is random per process unless configured, and one node runs the
 * office today (with several nodes, the node still running a job records its true end anyway).
 */
export async function failInterruptedJobs(db: Executor, at: Date): Promise<string[]> {
  const error: RowError[] = [{ row: 0, field: 'job', message: 'the server stopped before this job finished; nothing of it was applied: upload the file again' }];
  const rows = await db
    .updateTable('jobs')
    .set({ state: 'failed', errors: JSON.stringify(error), finished_at: at })
    .where('state', 'in', ['queued', 'running'])
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}
