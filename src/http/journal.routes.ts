import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Type, type Static } from 'typebox';
import type { AppContext } from '../app-context.ts';
import type { MoneyJournalKind } from '../db/journal.repository.ts';
import { alarmJournalTable, moneyJournalTable } from '../services/journal-export.ts';
import { alarmJournal, everyAlarmJournalRow, everyMoneyJournalRow, MAX_JOURNAL_DAYS, moneyJournal } from '../services/journal-report.service.ts';
import { ErrorResponses } from './error-schemas.ts';
import { Format, sendTable } from './report.routes.ts';

/** Journals (docs/reports.md): JSON one keyset page at a time, exports every row page by page. */
const Day = (description: string) => Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description });
const Range = {
  from: Type.Optional(Day("the first local day (YYYY-MM-DD, on each campus's time zone); default: to minus 6 days")),
  to: Type.Optional(Day(`the last local day, included; default: today on each campus's clock; at most ${MAX_JOURNAL_DAYS} days from from`)),
};
const Paging = {
  after: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: "the previous page's `next`" })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'rows in this page (exports carry every row)' })),
};
const Purse = Type.Union([Type.Literal('electricity'), Type.Literal('water')]);
const Id = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 64, description }));
const Where = { purse: Type.Optional(Purse), building: Id('only this building'), dormitory: Id('only this dormitory') };
const RechargeQuery = Type.Object(
  { ...Range, channel: Type.Optional(Type.String({ minLength: 1, maxLength: 80, description: 'cash, card, campus_card, online, or online:<provider> (e.g. online:sandbox)' })), ...Where, ...Paging, format: Format },
  { additionalProperties: false },
);
const OfficeQuery = Type.Object({ ...Range, ...Where, ...Paging, format: Format }, { additionalProperties: false });
const AlarmState = Type.Union([Type.Literal('active'), Type.Literal('released'), Type.Literal('cleared')]);
const AlarmQuery = Type.Object(
  { ...Range, kind: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })), state: Type.Optional(AlarmState), dormitory: Where.dormitory, ...Paging, format: Format },
  { additionalProperties: false },
);

const Text = Type.Union([Type.String(), Type.Null()]);
const Next = Type.Union([Type.String(), Type.Null()], { description: 'pass as `after` for the next page; null on the last' });
const Campuses = Type.Array(Type.Object({ campus: Type.String(), from: Type.String(), to: Type.String() }), { description: "each campus's window in UTC: [its first local day's start, its last local day's end)" });
const MoneyJournal = Type.Object({
  campuses: Campuses,
  rows: Type.Array(
    Type.Object({
      entryId: Type.Integer({ description: 'the ledger entry' }),
      occurredAt: Type.String(),
      campusId: Type.String(),
      buildingId: Type.String(),
      dormitoryId: Type.String(),
      purse: Purse,
      amountFen: Type.Integer({ description: 'as posted: a recharge positive, a refund negative, an adjustment signed' }),
      balanceAfterFen: Type.Integer(),
      reference: Text,
      operator: Text,
      channel: Type.Union([Type.String(), Type.Null()], { description: "a recharge's payment channel; null for refunds and adjustments" }),
      reason: Text,
      approvedBy: Text,
      studentId: Text,
      source: Type.Union([Type.Literal('office'), Type.Literal('online'), Type.Literal('check_out')]),
    }),
  ),
  next: Next,
});
const AlarmJournal = Type.Object({
  campuses: Campuses,
  rows: Type.Array(
    Type.Object({
      alarmId: Type.Integer(),
      raisedAt: Type.String(),
      campusId: Type.String(),
      kind: Type.String(),
      severity: Type.String(),
      state: AlarmState,
      dormitoryId: Text,
      meterId: Text,
      gatewayId: Text,
      circuit: Text,
      message: Type.String({ description: 'why it was raised' }),
      acknowledgedAt: Text,
      acknowledgedBy: Text,
      releasedAt: Text,
      releasedBy: Text,
      releaseReason: Type.Union([Type.String(), Type.Null()], { description: "the operator's reason, from the release's audit record" }),
    }),
  ),
  next: Next,
});

const JOURNALS: readonly { path: string; kind: MoneyJournalKind; query: typeof RechargeQuery | typeof OfficeQuery; summary: string }[] = [
  { path: 'recharges', kind: 'recharge', query: RechargeQuery, summary: 'The recharges of a range of local days, oldest first, by channel (cash desk, each online provider)' },
  { path: 'refunds', kind: 'refund', query: OfficeQuery, summary: 'The refunds of a range of local days (office refunds and check-out settlement refunds), oldest first' },
  { path: 'adjustments', kind: 'adjustment', query: OfficeQuery, summary: 'The adjustments of a range of local days, oldest first, with who made and approved them and why' },
];

async function journalRoutes(app: FastifyInstance, options: { context: AppContext }): Promise<void> {
  const { db, clock } = options.context;
  const readers = app.requireRole('admin', 'finance', 'manager');
  for (const journal of JOURNALS) {
    app.get(
      `/api/reports/journals/${journal.path}`,
      { preHandler: readers, schema: { tags: ['reports'], summary: journal.summary, querystring: journal.query, response: { 200: MoneyJournal, ...ErrorResponses } } },
      async (request, reply) => {
        const query = request.query as Static<typeof RechargeQuery>;
        const name = `${journal.path}-${query.from ?? 'week'}-${query.to ?? 'today'}`;
        if (query.format === 'csv' || query.format === 'xlsx') return sendTable(reply, query.format, moneyJournalTable(journal.kind, await everyMoneyJournalRow(db, clock, journal.kind, query)), name);
        return moneyJournal(db, clock, journal.kind, query);
      },
    );
  }
  app.get(
    '/api/reports/journals/alarms',
    {
      preHandler: readers,
      schema: { tags: ['reports'], summary: 'The alarm history: alarms raised in a range of local days, with who acknowledged or released them, when and why', querystring: AlarmQuery, response: { 200: AlarmJournal, ...ErrorResponses } },
    },
    async (request, reply) => {
      const query = request.query as Static<typeof AlarmQuery>;
      if (query.format === 'csv' || query.format === 'xlsx') return sendTable(reply, query.format, alarmJournalTable(await everyAlarmJournalRow(db, clock, query)), `alarms-${query.from ?? 'week'}-${query.to ?? 'today'}`);
      return alarmJournal(db, clock, query);
    },
  );
}

export default fp(journalRoutes, { name: 'journal-routes', dependencies: ['auth'] });
