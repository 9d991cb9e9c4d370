import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { reconciliationTable } from '../services/reconciliation-export.ts';
import { reconciliationByCampus, reconciliationReport } from '../services/reconciliation-report.service.ts';
import { csvStream, xlsxStream, type ReportTable } from '../services/report-export.ts';
import { usageTable } from '../services/usage-export.ts';
import { usageReport } from '../services/usage-report.service.ts';
import { ErrorResponses } from './error-schemas.ts';

export const Format = Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('xlsx')], { default: 'json', description: 'json (default), or a streamed csv / xlsx export (columns in docs/reports.md)' }));
const ReconciliationQuery = Type.Object(
  { date: Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: "a calendar day, YYYY-MM-DD, on each campus's time zone" }), format: Format },
  { additionalProperties: false },
);

const Money = Type.Integer({ description: 'fen' });
const Columns = {
  opening: Money,
  recharges: Money,
  charges: Type.Integer({ description: 'fen debited for consumption (positive)' }),
  refunds: Type.Integer({ description: 'fen refunded out of the purse (positive)' }),
  adjustments: Type.Integer({ description: 'fen, signed' }),
  settlements: Type.Integer({ description: 'fen, signed: check-out settlements a leaving student owed' }),
  closing: Type.Integer({ description: 'opening + recharges - charges - refunds + adjustments + settlements' }),
  ledgerClosing: Type.Integer({ description: 'the closing balance read from the ledger on its own' }),
  tiesOut: Type.Boolean(),
};
const Purse = Type.Union([Type.Literal('electricity'), Type.Literal('water')]);
const Reconciliation = Type.Object({
  date: Type.String(),
  campuses: Type.Array(Type.Object({ campus: Type.String(), timeZone: Type.String(), utcOffsetMinutes: Type.Integer({ description: 'the offset at `from`' }), from: Type.String(), to: Type.String() })),
  lines: Type.Array(Type.Object({ campus: Type.String(), building: Type.String(), purse: Purse, ...Columns })),
  channels: Type.Array(Type.Object({ campus: Type.String(), building: Type.String(), purse: Purse, channel: Type.String(), amount: Money, count: Type.Integer() })),
  channelTotals: Type.Array(Type.Object({ channel: Type.String({ description: 'cash, card, campus_card, online (entered by the office) or online:<provider>' }), purse: Purse, amount: Money, count: Type.Integer() })),
  totals: Type.Array(Type.Object({ purse: Purse, ...Columns })),
  tiesOut: Type.Boolean(),
});

const UsageQuery = Type.Object(
  {
    scope: Type.Union([Type.Literal('campus'), Type.Literal('building'), Type.Literal('floor'), Type.Literal('dormitory'), Type.Literal('circuit')]),
    id: Type.String({ minLength: 1, maxLength: 128, description: 'the campus, building, dormitory or circuit id; a floor is <building>:<floor>' }),
    from: Type.Optional(Type.String({ format: 'date-time', description: 'default: to minus one day; widened to the start of its bucket' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'default: now; widened to the end of its bucket' })),
    interval: Type.Optional(Type.Union([Type.Literal('15m'), Type.Literal('hour'), Type.Literal('day'), Type.Literal('month')], { default: 'hour', description: "buckets on the campus's clock" })),
    format: Format,
  },
  { additionalProperties: false },
);
const NullableInteger = (description: string) => Type.Union([Type.Integer(), Type.Null()], { description });
const Usage = Type.Object({
  scope: Type.String(),
  id: Type.String(),
  interval: Type.String(),
  from: Type.String({ description: "the first bucket's start" }),
  to: Type.String({ description: "the last bucket's end" }),
  timeZone: Type.String({ description: "the campus's IANA zone the buckets are cut on" }),
  utcOffsetMinutes: Type.Integer({ description: "the zone's UTC offset at `from` (it changes across a daylight saving switch)" }),
  buckets: Type.Array(
    Type.Object({
      start: Type.String(),
      energyWh: Type.Integer({ description: 'electricity recorded in the bucket (a circuit: its own channel)' }),
      costFen: NullableInteger('electricity consumption charged in the bucket; null for a circuit'),
      peakW: Type.Integer({ description: "the highest 15-minute sum of the meters' peak power in the bucket" }),
      waterL: NullableInteger('water recorded in the bucket, litres; null for a circuit'),
      waterCostFen: NullableInteger('water consumption charged in the bucket; null for a circuit'),
    }),
  ),
});

/** A table streamed as a CSV or XLSX download. */
export function sendTable(reply: FastifyReply, format: 'csv' | 'xlsx', table: ReportTable, filename: string): FastifyReply {
  if (format === 'csv') return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}.csv"`).send(csvStream(table));
  return reply
    .header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
    .header('content-disposition', `attachment; filename="${filename}.xlsx"`)
    .send(xlsxStream(table));
}

/** A report in the asked format: JSON as is; CSV and XLSX streamed as a download. */
export function sendReport<T>(reply: FastifyReply, format: 'json' | 'csv' | 'xlsx' | undefined, report: T, table: (report: T) => ReportTable, filename: string): FastifyReply | T {
  return format === 'csv' || format === 'xlsx' ? sendTable(reply, format, table(report), filename) : report;
}

/** Finance reports (docs/reports.md): read-only, for finance and admins. */
async function reportRoutes(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  app.get(
    '/api/reports/reconciliation',
    {
      preHandler: app.requireRole('admin', 'finance'),
      schema: {
        tags: ['reports'],
        summary: "The day's reconciliation per campus, building, purse and payment channel: opening + recharges - charges - refunds +/- adjustments = closing, tied out to the ledger",
        querystring: ReconciliationQuery,
        response: { 200: Reconciliation, ...ErrorResponses },
      },
    },
    async (request, reply) => {
      const query = request.query as Static<typeof ReconciliationQuery>;
      if (query.format === 'csv' || query.format === 'xlsx') return sendTable(reply, query.format, reconciliationTable(query.date, reconciliationByCampus(options.context.db, query.date)), `reconciliation-${query.date}`);
      return reconciliationReport(options.context.db, query.date);
    },
  );

  app.get(
    '/api/reports/usage',
    {
      preHandler: app.requireRole('admin', 'finance', 'manager'),
      schema: {
        tags: ['reports'],
        summary: "Consumption statistics of a campus, building, floor, dormitory or circuit: energy, money charged and peak power per bucket on the campus's clock",
        querystring: UsageQuery,
        response: { 200: Usage, ...ErrorResponses },
      },
    },
    async (request, reply) => {
      const query = request.query as Static<typeof UsageQuery>;
      const report = await usageReport(options.context.db, options.context.clock, query);
      return sendReport(reply, query.format, report, usageTable, `usage-${report.scope}-${report.interval}`);
    },
  );
}

export default fp(reportRoutes, { name: 'report-routes', dependencies: ['auth'] });
