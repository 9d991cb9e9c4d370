/**
 * Free quota periods, bases, issuance and expiry (src/domain/quota.ts through the tariff engine),
 * hand-worked. Campus time UTC+8; a single rate of 50 fen/kWh (1 kWh = 50 fen).
 */
import t from 'tap';
import { chargeAcrossSpan } from '../../src/domain/gap-pricing.ts';
import { grantSize, proRataAllowance, quotaLapseDueAt, quotaPeriodAt, rollQuota, validateSemesters, type FreeQuotaPolicy } from '../../src/domain/quota.ts';
import { toLocalTime } from '../../src/domain/local-time.ts';
import { applyQuotaTopUp, chargeUsage, initialBillingState, moveQuota, quotaHoldingOf, type BillingState, type Tariff } from '../../src/domain/tariff.ts';

const CN = 480;
const at = (local: string) => Date.parse(`${local}+08:00`);
const single: Tariff = { kind: 'single', rate: 50_000 };
const SEMESTERS = [
  { id: 'autumn-2026', from: '2026-09-01', to: '2027-01-15' },
  { id: 'spring-2027', from: '2027-02-20', to: '2027-07-05' },
];
const semester = (allowance: number, over: Partial<FreeQuotaPolicy> = {}): FreeQuotaPolicy => ({ allowance, period: 'semester', semesters: SEMESTERS, ...over });
const emptyState = (local: string): BillingState => initialBillingState(at(local), null, CN);

t.test('the period of a local time', async (t) => {
  const local = (s: string) => toLocalTime(at(s), CN);
  t.same(quotaPeriodAt({ allowance: 1 }, local('2026-12-31T23:59:59')), { from: '2026-12-01', until: '2027-01-01', label: '2026-12' }, 'a month policy: the local month (UTC+8: still December)');
  t.same(quotaPeriodAt(semester(1), local('2026-09-01T00:00:00')), { from: '2026-09-01', until: '2027-01-16', label: 'autumn-2026' }, "a semester's first day");
  t.same(quotaPeriodAt(semester(1), local('2027-01-15T23:59:59')), { from: '2026-09-01', until: '2027-01-16', label: 'autumn-2026' }, 'its last day is inside (to is inclusive)');
  t.equal(quotaPeriodAt(semester(1), local('2027-01-16T00:00:00')), null, 'the winter break belongs to no semester');
  t.equal(quotaPeriodAt(semester(1, { semesters: [] }), local('2026-10-01T00:00:00')), null, 'a campus without semesters grants nothing per semester');
  t.equal(quotaPeriodAt(null, local('2026-10-01T00:00:00')), null, 'no policy, no period');
});

t.test('per dormitory or per occupant', async (t) => {
  t.equal(grantSize({ allowance: 10_000, occupants: 4 }), 10_000, 'per dormitory: once for the room, however many live there');
  t.equal(grantSize({ allowance: 10_000, basis: 'per-occupant', occupants: 4 }), 40_000, 'per occupant: 4 x 10 kWh');
  t.equal(grantSize({ allowance: 10_000, basis: 'per-occupant', occupants: 0 }), 0, 'an empty room: nothing');
  t.equal(grantSize({ allowance: 10_000, basis: 'per-occupant' }), 0, 'occupants unknown: nothing');
});

t.test('a per-occupant grant is made with the occupants present, once per period', async (t) => {
  const policy = (occupants: number): FreeQuotaPolicy => ({ allowance: 5_000, basis: 'per-occupant', occupants });
  const empty = moveQuota(emptyState('2026-10-01T08:00:00'), policy(0), at('2026-10-01T08:00:00'), CN, true);
  t.equal(empty.granted, 0, 'nobody checked in yet: nothing granted');
  t.equal(quotaHoldingOf(empty.state).quotaFrom, '', 'and the period stays open for a grant');
  const three = moveQuota(empty.state, policy(3), at('2026-10-02T08:00:00'), CN, true);
  t.equal(three.granted, 15_000, 'three students checked in: 3 x 5 kWh');
  t.match(three.state, { quotaFrom: '2026-10-01', quotaUntil: '2026-11-01', freeGranted: 15_000, freeRemaining: 15_000 });
  const four = moveQuota(three.state, policy(4), at('2026-10-03T08:00:00'), CN, true);
  t.equal(four.granted, 0, 'issuing again in October grants nothing (idempotent per period), a fourth student or not');
  t.same(four.state, three.state, 'the state is unchanged');
});

t.test('a late occupant: the allowance pro rata to the days left, rounded down', async (t) => {
  const november = { from: '2026-11-01', until: '2026-12-01' };
  t.equal(proRataAllowance(10_000, november, '2026-11-11'), 6_666, 'day 11 of 30: 20 days left (11..30), 10,000 x 20 / 30 = 6,666.67, down to 6,666');
  t.equal(proRataAllowance(3_000, november, '2026-11-11'), 2_000, '3,000 x 20 / 30 = 2,000 exactly');
  t.equal(proRataAllowance(10_000, november, '2026-11-01'), 10_000, 'the first day: all of it');
  t.equal(proRataAllowance(10_000, november, '2026-10-20'), 10_000, 'a stay begun before the period counts from its first day');
  t.equal(proRataAllowance(10_000, november, '2026-11-30'), 333, 'the last day: 1/30, 333.33 down to 333');
  t.equal(proRataAllowance(10_000, november, '2026-12-01'), 0, 'after the period: nothing');
  t.equal(proRataAllowance(29, { from: '2027-02-01', until: '2027-03-01' }, '2027-02-15'), 14, 'February 2027 has 28 days: 29 x 14 / 28 = 14.5, down to 14');
  t.equal(proRataAllowance(100_000, { from: '2026-03-01', until: '2026-04-01' }, '2026-03-29'), 9_677, "a month with a daylight saving switch still has 31 calendar days: 100,000 x 3 / 31 = 9,677.4");
});

t.test('a late top-up adds to the period held, once per student', async (t) => {
  const granted = moveQuota(emptyState('2026-11-01T08:00:00'), { allowance: 10_000, basis: 'per-occupant', occupants: 1 }, at('2026-11-01T08:00:00'), CN, true).state;
  const topped = applyQuotaTopUp(granted, { studentId: 'S2', periodFrom: '2026-11-01', units: 6_666 });
  t.match(topped, { quotaFrom: '2026-11-01', freeGranted: 16_666, freeRemaining: 16_666, quotaTopUps: ['S2'] });
  t.equal(applyQuotaTopUp(topped!, { studentId: 'S2', periodFrom: '2026-11-01', units: 6_666 }), null, 'the same student again: nothing');
  t.equal(applyQuotaTopUp(granted, { studentId: 'S3', periodFrom: '2026-10-01', units: 6_666 }), null, 'another period than the one held: nothing');
  const used = chargeUsage(single, { allowance: 10_000, basis: 'per-occupant', occupants: 2 }, topped!, 1_000, at('2026-11-20T08:00:00'), CN);
  t.same(used.state.quotaTopUps, ['S2'], 'a charge in the period keeps the list');
  const december = chargeUsage(single, { allowance: 10_000, basis: 'per-occupant', occupants: 2 }, used.state, 1_000, at('2026-12-02T08:00:00'), CN);
  t.same([december.quotaLapsed[0]?.units, december.quotaGranted, december.state.quotaTopUps], [15_666, 20_000, undefined], 'the late units lapse with November; December starts with no late students');
});

t.test('quota is used before money and lapses at its period end', async (t) => {
  const policy: FreeQuotaPolicy = { allowance: 10_000 };
  let state = initialBillingState(at('2026-10-10T08:00:00'), policy, CN);
  t.equal(state.freeRemaining, 10_000, 'October granted at the first measurement');
  const used = chargeUsage(single, policy, state, 4_000, at('2026-10-10T09:00:00'), CN);
  t.same([used.freeUsed, used.amount], [4_000, 0], '4 kWh free, nothing charged');
  state = used.state;
  const november = chargeUsage(single, policy, state, 2_000, at('2026-11-02T09:00:00'), CN);
  t.same(november.quotaLapsed, [{ from: '2026-10-01', until: '2026-11-01', units: 6_000 }], "October's 6 unused kWh lapse, named with their period");
  t.equal(november.quotaGranted, 10_000, "November's allowance is granted (set, not added to October's)");
  t.same([november.freeUsed, november.amount, november.state.freeRemaining], [2_000, 0, 8_000]);

  // Expiry without usage: the timer's move at the period end (no grant).
  const expired = moveQuota(used.state, policy, at('2026-11-01T00:00:00'), CN, false);
  t.same(expired.lapsed, [{ from: '2026-10-01', until: '2026-11-01', units: 6_000 }], 'at local midnight of 1 November the 6 kWh lapse');
  t.equal(expired.granted, 0, 'an expiry grants nothing');
  t.same(quotaHoldingOf(expired.state), { quotaFrom: '2026-10-01', quotaUntil: '2026-11-01', freeGranted: 10_000, freeRemaining: 0, freeLapsed: 6_000 }, 'used = granted - remaining - lapsed = 4 kWh');
  const justBefore = moveQuota(used.state, policy, at('2026-10-31T23:59:59'), CN, false);
  t.same(justBefore.lapsed, [], 'a second before midnight nothing lapses');
  const after = chargeUsage(single, policy, expired.state, 1_000, at('2026-11-01T08:00:00'), CN);
  t.same([after.quotaLapsed, after.quotaGranted, after.freeUsed], [[], 10_000, 1_000], 'what lapsed lapses once; November is granted');
});

t.test('a semester policy: one grant per semester, nothing in the break, lapse at its end', async (t) => {
  const policy = semester(100_000);
  const opened = initialBillingState(at('2026-09-01T10:00:00'), policy, CN);
  t.match(opened, { quotaFrom: '2026-09-01', quotaUntil: '2027-01-16', freeRemaining: 100_000 }, 'the autumn semester is granted');
  const december = chargeUsage(single, policy, { ...opened, freeRemaining: 30_000 }, 10_000, at('2026-12-01T10:00:00'), CN);
  t.same([december.quotaGranted, december.freeUsed, december.quotaLapsed], [0, 10_000, []], 'a new month is no new semester: no grant, nothing lapses');
  t.equal(december.state.monthKey, '2026-12', 'the tier month moves on regardless');
  const winter = chargeUsage(single, policy, december.state, 5_000, at('2027-01-20T10:00:00'), CN);
  t.same(winter.quotaLapsed, [{ from: '2026-09-01', until: '2027-01-16', units: 20_000 }], "autumn's 20 unused kWh lapse after 15 January");
  t.same([winter.quotaGranted, winter.freeUsed, winter.amount], [0, 0, 250], 'the winter break is charged: 5 kWh x 50 fen');
  const spring = chargeUsage(single, policy, winter.state, 5_000, at('2027-02-20T00:30:00'), CN);
  t.same([spring.quotaGranted, spring.freeUsed, spring.amount], [100_000, 5_000, 0], 'the spring semester is granted on its first day');
  const late = chargeUsage(single, policy, spring.state, 1_000, at('2026-12-31T10:00:00'), CN);
  t.same([late.quotaGranted, late.quotaLapsed], [0, []], 'a late reading from autumn grants nothing and lapses nothing');
});

t.test('a gap across a semester end is split there', async (t) => {
  const policy = semester(50_000);
  const state: BillingState = { ...initialBillingState(at('2027-01-10T00:00:00'), policy, CN), freeRemaining: 1_000 };
  // 4 kWh read on 16 January at 12:00, last read on 15 January at 12:00: 2 kWh each side of midnight.
  const charge = chargeAcrossSpan(single, policy, state, 4_000, at('2027-01-15T12:00:00'), at('2027-01-16T12:00:00'), CN);
  t.same([charge.freeUsed, charge.amount], [1_000, 150], "1 kWh of autumn's quota, 1 kWh of autumn charged, 2 kWh of the break charged");
  t.same(charge.quotaLapsed, [], 'the quota was used up before the end: nothing lapses');
});

t.test('rollQuota never grants when asked only to expire', async (t) => {
  const roll = rollQuota({ allowance: 7 }, { quotaFrom: '', quotaUntil: '', freeGranted: 0, freeRemaining: 0, freeLapsed: 0 }, toLocalTime(at('2026-10-01T00:00:00'), CN), false);
  t.same([roll.granted, roll.lapsed, roll.holding.quotaFrom], [0, 0, '']);
});

t.test('semesters are validated', async (t) => {
  t.same(validateSemesters([{ id: 'b', from: '2027-02-20', to: '2027-07-05' }, { id: 'a', from: '2026-09-01', to: '2027-01-15' }]), { ok: true, semesters: [{ id: 'a', from: '2026-09-01', to: '2027-01-15' }, { id: 'b', from: '2027-02-20', to: '2027-07-05' }] }, 'sorted by start');
  const bad: [unknown, string][] = [
    ['no', 'semesters'],
    [[{ id: 'a', from: '2026-02-30', to: '2026-07-01' }], 'semesters[0].from'],
    [[{ id: 'a', from: '2026-09-01', to: '2026-13-01' }], 'semesters[0].to'],
    [[{ id: 'a', from: '2026-09-01', to: '2026-08-31' }], 'semesters[0].to'],
    [[{ id: '', from: '2026-09-01', to: '2026-12-31' }], 'semesters[0].id'],
    [[{ id: 'a', from: '2026-09-01', to: '2026-12-31', name: 'x' }], 'semesters[0].name'],
    [[{ id: 'a', from: '2026-09-01', to: '2026-12-31' }, { id: 'a', from: '2027-02-01', to: '2027-06-30' }], 'semesters[1].id'],
    [[{ id: 'a', from: '2026-09-01', to: '2027-01-15' }, { id: 'b', from: '2027-01-15', to: '2027-06-30' }], 'semesters[1].from'],
    [[null], 'semesters[0]'],
  ];
  for (const [value, field] of bad) {
    const checked = validateSemesters(value);
    t.equal(checked.ok ? 'ok' : checked.field, field, `${JSON.stringify(value)} names ${field}`);
  }
});

t.test('the expiry timer: due at the end, at once for a missed lapse, never again once lapsed', async (t) => {
  const end = at('2026-10-01T00:00:00');
  t.equal(quotaLapseDueAt(end, 5_000, at('2026-09-30T12:00:00')), end, 'ahead: due at the period end');
  t.equal(quotaLapseDueAt(end, 0, at('2026-09-30T12:00:00')), end, 'ahead with nothing left: still due at the end (the day check)');
  const late = at('2026-10-01T00:00:07');
  t.equal(quotaLapseDueAt(end, 5_000, late), late, 'past with units unlapsed (a server that was down, a late timer): due now');
  // After the lapse the state keeps the old period's end until the next grant (rollQuota without
  // grant): a timer re-armed for it fired every millisecond until the next reading or semester.
  const lapsed = rollQuota(semester(5_000), { quotaFrom: '2026-09-01', quotaUntil: '2026-10-01', freeGranted: 5_000, freeRemaining: 1_200, freeLapsed: 0 }, toLocalTime(late, CN), false);
  t.same([lapsed.lapsed, lapsed.holding.quotaUntil, lapsed.holding.freeRemaining], [1_200, '2026-10-01', 0], 'the lapse leaves the ended period in the state, nothing remaining');
  t.equal(quotaLapseDueAt(end, lapsed.holding.freeRemaining, late + 1), null, 'so its end is not due again: no timer until a new period is granted');
});
