import type { JobKind, JobState } from '../db/database.ts';

/** A job's state as pushed on the live WebSocket (`{"type":"job"}`, docs/websocket.md). */
export interface JobProgress {
  readonly id: string;
  readonly kind: JobKind;
  readonly state: JobState;
  readonly progress: { readonly done: number; readonly total: number };
  readonly errorCount: number;
}

/** Job progress for the control room. Listeners are called synchronously and must not block. */
export interface JobFeed {
  subscribe(listener: (job: JobProgress) => void): () => void;
}
