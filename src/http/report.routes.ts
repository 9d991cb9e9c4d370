import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import { reconciliationTable } from '../services/reconciliation-export.ts';
import { reconciliationReport } from '../services/reconciliation-report.service.ts';
import { csvStream, xlsxStream, type ReportTable } from '../services/report-export.ts';
import { ErrorResponses } from './error-schemas.ts';

const Format = Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('xlsx')], { default: 'json', description: 'json (default), or a streamed csv / xlsx export (columns in docs/reports.md)' }));
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
  campuses: Type.Array(Type.Object({ campus: Type.String(), utcOffsetMinutes: Type.Integer(), from: Type.String(), to: Type.String() })),
  lines: Type.Array(Type.Object({ campus: Type.String(), building: Type.String(), purse: Purse, ...Columns })),
  channels: Type.Array(Type.Object({ campus: Type.String(), building: Type.String(), purse: Purse, channel: Type.String(), amount: Money, count: Type.Integer() })),
  channelTotals: Type.Array(Type.Object({ channel: Type.String({ description: 'cash, card, campus_card, online (entered by the office) or online:<provider>' }), purse: Purse, amount: Money, count: Type.Integer() })),
  totals: Type.Array(Type.Object({ purse: Purse, ...Columns })),
  tiesOut: Type.Boolean(),
});

/** A report in the asked format: JSON as is; CSV and XLSX streamed as a download. */
export function sendReport<T>(reply: FastifyReply, format: 'json' | 'csv' | 'xlsx' | undefined, report: T, table: (report: T) => ReportTable, filename: string): FastifyReply | T {
  if (format === 'csv') return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${filename}.csv"`).send(csvStream(table(report)));
  if (format === 'xlsx') {
    return reply
      .header('content-type', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
      .header('content-disposition', `attachment; filename="${filename}.xlsx"`)
      .send(xlsxStream(table(report)));
  }
  return report;
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
      const report = await reconciliationReport(options.context.db, query.date);
      return sendReport(reply, query.format, report, reconciliationTable, `reconciliation-${report.date}`);
    },
  );
}

export default fp(reportRoutes, { name: 'report-routes', dependencies: ['auth'] });
