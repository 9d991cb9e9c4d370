import ExcelJS from 'exceljs';
import type { App } from '../../src/app.ts';
import type { JobRecord } from '../../src/db/job.repository.ts';
import type { JobProgress } from '../../src/live/job-feed.ts';

/** An .xlsx with a header row and data rows, made with exceljs as an office clerk's Excel would save it. */
export async function workbookOf(headers: readonly string[], rows: readonly (readonly (string | number | Date | null)[])[]): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const sheet = workbook.addWorksheet('Sheet1');
  sheet.addRow([...headers]);
  for (const row of rows) sheet.addRow([...row]);
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** A multipart/form-data request body carrying one file in the field `file`. */
export function multipartFile(file: Buffer, filename = 'batch.xlsx'): { payload: Buffer; headers: Record<string, string> } {
  const boundary = `----campus${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { payload: Buffer.concat([head, file, tail]), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** Records every progress event of the app's jobs, and resolves when a job ends (done or failed). */
export function watchJobs(app: App) {
  const events: JobProgress[] = [];
  const waiters = new Map<string, (job: JobRecord) => void>();
  app.imports.subscribe((event) => {
    events.push(event);
    if (event.state === 'done' || event.state === 'failed') {
      const waiter = waiters.get(event.id);
      if (waiter) void app.imports.get(event.id).then((job) => waiter(job!));
    }
  });
  return {
    events,
    /** The job's final record, once it has ended. */
    async end(id: string): Promise<JobRecord> {
      const ended = new Promise<JobRecord>((resolve) => waiters.set(id, resolve));
      const now = await app.imports.get(id);
      if (now && (now.state === 'done' || now.state === 'failed')) return now;
      return ended;
    },
  };
}
