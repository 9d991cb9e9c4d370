import { Type } from 'typebox';

/** Schemas shared by the student and occupancy routes. */
export const StudentId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'the student number (also the login name)' });
export const LocalDate = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'a local calendar day of the campus, YYYY-MM-DD' });
const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(schema: T) => Type.Union([schema, Type.Null()]);

export const StudentSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  college: Nullable(Type.String()),
  className: Nullable(Type.String()),
  phone: Nullable(Type.String()),
  email: Nullable(Type.String()),
  dormitoryId: Nullable(Type.String()),
  bed: Nullable(Type.Integer()),
  hasLogin: Type.Boolean(),
});

export const OccupancySchema = Type.Object({
  id: Type.Integer(),
  studentId: Type.String(),
  dormitoryId: Type.String(),
  bed: Nullable(Type.Integer()),
  fromDay: Type.String({ description: 'first day of the stay (counts)' }),
  toDay: Nullable(Type.String({ description: 'check-out day (does not count); null while the stay is open' })),
  checkedInAt: Type.String({ format: 'date-time' }),
  checkedInBy: Type.String(),
  checkedOutAt: Nullable(Type.String({ format: 'date-time' })),
  checkedOutBy: Nullable(Type.String()),
  endReason: Type.Union([Type.Literal('check_out'), Type.Literal('exchange'), Type.Literal('swap'), Type.Null()]),
});

export const SettlementSchema = Type.Object({
  id: Type.Integer(),
  occupancyId: Type.Integer(),
  studentId: Type.String(),
  dormitoryId: Type.String(),
  purse: Type.String(),
  policy: Type.String({ description: "the campus's settlement policy: per-share or none" }),
  days: Type.Integer({ description: 'days of the stay' }),
  contributionsFen: Type.Integer({ description: "the student's own recharges during the stay" }),
  consumptionShareFen: Type.Integer({ description: 'their share of the consumption (negative)' }),
  sharedCreditShareFen: Type.Integer({ description: 'their share of anonymous recharges and adjustments' }),
  equityFen: Type.Integer({ description: 'sum of the three: > 0 the room owes them, < 0 they owe' }),
  direction: Type.Union([Type.Literal('refund'), Type.Literal('charge'), Type.Literal('none')]),
  amountFen: Type.Integer({ minimum: 0 }),
  ledgerEntryId: Nullable(Type.Integer()),
  operator: Type.String(),
  settledAt: Type.String({ format: 'date-time' }),
});

export const OccupancyChangeSchema = Type.Object({
  studentId: Type.String(),
  closed: Type.Union([OccupancySchema, Type.Null()]),
  opened: Type.Union([OccupancySchema, Type.Null()]),
  settlements: Type.Array(SettlementSchema),
});
