import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import type { ImportKind } from '../domain/imports/import-columns.ts';
import { parseRows, type CheckOutRow } from '../domain/imports/import-rows.ts';
import { DomainError } from '../errors.ts';
import { checkedInStudents } from '../db/import-snapshot.repository.ts';
import type { ImportJobs } from '../services/import-jobs.ts';
import { importTemplate, readImportWorkbook } from '../services/import-workbook.ts';
import { ErrorResponses } from './error-schemas.ts';

const KINDS: readonly { kind: ImportKind; what: string }[] = [
  { kind: 'check-ins', what: 'Batch check-in (opens the students the file introduces)' },
  { kind: 'exchanges', what: 'Batch exchange (each student settled in the room they leave)' },
  { kind: 'check-outs', what: 'Batch check-out (each student settled); a JSON filter instead of a file checks out everyone it matches' },
];

const Name = Type.String({ minLength: 1, maxLength: 100 });
const CheckOutFilter = Type.Object(
  { college: Type.Optional(Name), class: Type.Optional(Name), building: Type.Optional(Name) },
  { additionalProperties: false, description: 'students living somewhere now who match every given field; at least one field' },
);
const RowErrorSchema = Type.Object({
  row: Type.Integer({ description: 'row number in the sheet (the header is row 1; 0: the job as a whole)' }),
  field: Type.String({ description: 'the column at fault (docs/imports.md)' }),
  message: Type.String(),
});
export const JobSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union(KINDS.map((k) => Type.Literal(k.kind))),
  state: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')]),
  progress: Type.Object({ done: Type.Integer({ description: 'rows applied (in the open transaction until the state is done)' }), total: Type.Integer() }),
  errors: Type.Array(RowErrorSchema, { description: 'every bad row when the file was refused; nothing was applied' }),
  summary: Type.Record(Type.String(), Type.Integer(), { description: 'when done: rows, studentsOpened, settlements, refundedFen, chargedFen' }),
  source: Type.String({ description: 'the uploaded file name, or "filter"' }),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const Accepted = Type.Object({ jobId: Type.String() });
const JobParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

/**
 * Excel batches (docs/imports.md): upload a .xlsx (multipart, field `file`), get 202 and a job
 * id, follow the job over GET /api/jobs/:id or the live WebSocket. The route only reads and
 * parses the sheet (bounded in bytes and rows); validation and the one-transaction apply run
 * in the background (src/services/import-jobs.ts).
 */
async function importRoutes(app: FastifyInstance, options: { context: AppContext; jobs: ImportJobs }): Promise<void> {
  const { db, config } = options.context;
  const { jobs } = options;
  const office = app.requireRole('admin', 'manager');
  await app.register(multipart, { limits: { fileSize: config.importMaxBytes, files: 1, fields: 5, parts: 6 } });

  async function uploadedSheet(kind: ImportKind, request: FastifyRequest) {
    const part = await request.file();
    if (!part) throw new DomainError('VALIDATION_FAILED', 'send the workbook as multipart/form-data in the field "file"', 'file');
    let buffer: Buffer;
    try {
      buffer = await part.toBuffer();
    } catch (error) {
      if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
        throw new DomainError('IMPORT_FILE_TOO_LARGE', `the file is larger than ${config.importMaxBytes} bytes (IMPORT_MAX_BYTES): split it`, 'file');
      }
      throw error;
    }
    const sheet = await readImportWorkbook(kind, buffer, config.importMaxRows);
    if (sheet.length === 0) throw new DomainError('VALIDATION_FAILED', 'the file has a header row but no data rows', 'file');
    return { sheet, source: part.filename || 'upload.xlsx' };
  }

  for (const { kind, what } of KINDS) {
    app.post(
      `/api/imports/${kind}`,
      {
        preHandler: office,
        schema: {
          tags: ['imports'],
          summary: what,
          description: `multipart/form-data with one .xlsx in the field "file" (columns: docs/imports.md, template: GET /api/imports/${kind}/template.xlsx)${kind === 'check-outs' ? '; or application/json {college?, class?, building?}' : ''}. At most IMPORT_MAX_BYTES (413) and IMPORT_MAX_ROWS data rows (400).`,
          ...(kind === 'check-outs' ? { body: Type.Union([CheckOutFilter, Type.Null()]) } : {}),
          response: { 202: Accepted, ...ErrorResponses },
        },
      },
      async (request, reply) => {
        const operator = request.operator!.username;
        if (!request.isMultipart()) {
          if (kind !== 'check-outs') throw new DomainError('VALIDATION_FAILED', 'send the workbook as multipart/form-data in the field "file"', 'file');
          const filter = (request.body ?? {}) as Static<typeof CheckOutFilter>;
          if (filter.college === undefined && filter.class === undefined && filter.building === undefined) {
            throw new DomainError('VALIDATION_FAILED', 'a check-out filter needs at least one of college, class, building (or send a file)', 'body');
          }
          const ids = await checkedInStudents(db, { college: filter.college, className: filter.class, building: filter.building });
          const rows: CheckOutRow[] = ids.map((studentId, i) => ({ row: i + 1, studentId, date: undefined }));
          const job = await jobs.submit({ kind, rows: { kind, rows }, problems: [], total: rows.length, source: 'filter', operator });
          return reply.status(202).send({ jobId: job.id });
        }
        const { sheet, source } = await uploadedSheet(kind, request);
        const { rows, problems } = parseRows(kind, sheet);
        const job = await jobs.submit({ kind, rows, problems, total: sheet.length, source, operator });
        return reply.status(202).send({ jobId: job.id });
      },
    );

    app.get(
      `/api/imports/${kind}/template.xlsx`,
      { preHandler: office, schema: { tags: ['imports'], summary: `Template for ${kind}: the header row and an example row`, response: { ...ErrorResponses } } },
      async (_request, reply) =>
        reply
          .header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
          .header('content-disposition', `attachment; filename="${kind}-template.xlsx"`)
          .send(await importTemplate(kind)),
    );
  }

  app.get(
    '/api/jobs/:id',
    { preHandler: office, schema: { tags: ['imports'], summary: 'A batch job: state, progress, and every bad row if it was refused', params: JobParams, response: { 200: JobSchema, ...ErrorResponses } } },
    async (request) => {
      const { id } = request.params as Static<typeof JobParams>;
      const job = await jobs.get(id);
      if (!job) throw new DomainError('JOB_NOT_FOUND', `job ${id} does not exist`);
      return job;
    },
  );
}

export default fp(importRoutes, { name: 'import-routes', dependencies: ['auth'] });
