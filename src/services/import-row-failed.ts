import type { RowError } from '../db/job.repository.ts';

/** A row the services refused while applying (a change that raced the validation): the whole file rolls back. */
export class ImportRowFailed extends Error {
  constructor(readonly rowError: RowError) {
    super(`row ${rowError.row}: ${rowError.message}`);
  }
}
