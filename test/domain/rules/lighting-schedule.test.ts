import t from 'tap';
import fc from 'fast-check';
import { DEFAULT_CALENDAR_CONFIG, type CalendarConfig } from '../../../src/domain/rules/calendar.ts';
import {
  DEFAULT_LIGHTING_SCHEDULE_CONFIG,
  PHASE_HORIZON_MS,
  evaluateLightingSchedule,
  initialLightingScheduleState,
  lightingPhase,
  validateLightingScheduleConfig,
  type LightingOverride,
  type LightingScheduleConfig,
  type LightingScheduleState,
  type NightSchedule,
} from '../../../src/domain/rules/lighting-schedule.ts';
import type { ActionVerdict } from '../../../src/domain/rules/rule-verdict.ts';
import { local, UTC_PLUS_8 } from './samples.ts';
import { ZoneRules } from '../../../src/domain/local-time.ts';

// 2025-03-10 is a Monday.
const NO_CALENDAR = DEFAULT_CALENDAR_CONFIG;
const phaseAt = (
  schedule: LightingScheduleConfig,
  at: number,
  override: LightingOverride | null = null,
  calendar: CalendarConfig = NO_CALENDAR,
) => lightingPhase(schedule, calendar, override, at, UTC_PLUS_8);

function schedule(nights: Partial<Record<keyof LightingScheduleConfig['nights'], NightSchedule | null>>): LightingScheduleConfig {
  const result = validateLightingScheduleConfig({ nights });
  if (!result.ok) throw new Error(`${result.field}: ${result.message}`);
  return result.config;
}

t.test('default schedule: off 23:30, on 06:30, across midnight, half-open', async (t) => {
  const rows: ReadonlyArray<[string, number, boolean, number]> = [
    ['Mon noon', local(2025, 3, 10, 12), true, local(2025, 3, 10, 23, 30)],
    ['Mon 23:29:59.999', local(2025, 3, 10, 23, 29, 59, 999), true, local(2025, 3, 10, 23, 30)],
    ['Mon 23:30 exactly', local(2025, 3, 10, 23, 30), false, local(2025, 3, 11, 6, 30)],
    ['Tue 00:00 (midnight crossed)', local(2025, 3, 11, 0, 0), false, local(2025, 3, 11, 6, 30)],
    ['Tue 06:29:59.999', local(2025, 3, 11, 6, 29, 59, 999), false, local(2025, 3, 11, 6, 30)],
    ['Tue 06:30 exactly', local(2025, 3, 11, 6, 30), true, local(2025, 3, 11, 23, 30)],
  ];
  for (const [name, at, lightsOn, nextChangeAt] of rows) {
    t.same(phaseAt(DEFAULT_LIGHTING_SCHEDULE_CONFIG, at), { lightsOn, holiday: false, nextChangeAt }, name);
  }
});

t.test('weekday differences: Friday night 00:30-07:00, no lights-off on Saturday night', async (t) => {
  const weekdays = { lightsOff: '23:00', lightsOn: '06:30' };
  const week = schedule({
    sunday: weekdays,
    monday: weekdays,
    tuesday: weekdays,
    wednesday: weekdays,
    thursday: weekdays,
    friday: { lightsOff: '00:30', lightsOn: '07:00' },
    saturday: null,
  });
  const rows: ReadonlyArray<[string, number, boolean, number]> = [
    ['Thu 23:00', local(2025, 3, 13, 23, 0), false, local(2025, 3, 14, 6, 30)],
    ['Fri 06:30', local(2025, 3, 14, 6, 30), true, local(2025, 3, 15, 0, 30)],
    ['Fri 23:30 (Friday night starts after midnight)', local(2025, 3, 14, 23, 30), true, local(2025, 3, 15, 0, 30)],
    ['Sat 00:30', local(2025, 3, 15, 0, 30), false, local(2025, 3, 15, 7, 0)],
    ['Sat 06:45 (weekday lights-on does not apply)', local(2025, 3, 15, 6, 45), false, local(2025, 3, 15, 7, 0)],
    ['Sat 07:00', local(2025, 3, 15, 7, 0), true, local(2025, 3, 16, 23, 0)],
    ['Sat 23:30 (no lights-off)', local(2025, 3, 15, 23, 30), true, local(2025, 3, 16, 23, 0)],
    ['Sun 00:30', local(2025, 3, 16, 0, 30), true, local(2025, 3, 16, 23, 0)],
    ['Sun 23:00', local(2025, 3, 16, 23, 0), false, local(2025, 3, 17, 6, 30)],
  ];
  for (const [name, at, lightsOn, nextChangeAt] of rows) {
    t.same(phaseAt(week, at), { lightsOn, holiday: false, nextChangeAt }, name);
  }
});

t.test('the same local schedule in another UTC offset', async (t) => {
  const at = Date.UTC(2025, 2, 11, 4, 30); // 23:30 on Monday in UTC-5
  const phase = lightingPhase(DEFAULT_LIGHTING_SCHEDULE_CONFIG, NO_CALENDAR, null, at, -300);
  t.same(phase, { lightsOn: false, holiday: false, nextChangeAt: Date.UTC(2025, 2, 11, 11, 30) });
});

t.test('operator override forces until its expiry (exclusive); an expiry that changes nothing is skipped', async (t) => {
  const onTill1 = { lightsOn: true, untilAt: local(2025, 3, 11, 1, 0) };
  t.same(phaseAt(DEFAULT_LIGHTING_SCHEDULE_CONFIG, local(2025, 3, 10, 23, 40), onTill1), {
    lightsOn: true,
    holiday: false,
    nextChangeAt: onTill1.untilAt,
  });
  t.same(
    phaseAt(DEFAULT_LIGHTING_SCHEDULE_CONFIG, onTill1.untilAt, onTill1),
    { lightsOn: false, holiday: false, nextChangeAt: local(2025, 3, 11, 6, 30) },
    'at untilAt the schedule is back',
  );
  const offTill16 = { lightsOn: false, untilAt: local(2025, 3, 10, 16, 0) };
  t.same(phaseAt(DEFAULT_LIGHTING_SCHEDULE_CONFIG, local(2025, 3, 10, 14, 0), offTill16), {
    lightsOn: false,
    holiday: false,
    nextChangeAt: offTill16.untilAt,
  });
  const onTill22 = { lightsOn: true, untilAt: local(2025, 3, 10, 22, 0) };
  t.equal(
    phaseAt(DEFAULT_LIGHTING_SCHEDULE_CONFIG, local(2025, 3, 10, 20, 0), onTill22).nextChangeAt,
    local(2025, 3, 10, 23, 30),
    'expiry at 22:00 does not change the lights',
  );
  const onOverMidnight = { lightsOn: true, untilAt: local(2025, 3, 11, 7, 0) };
  t.equal(
    phaseAt(DEFAULT_LIGHTING_SCHEDULE_CONFIG, local(2025, 3, 10, 20, 0), onOverMidnight).nextChangeAt,
    local(2025, 3, 11, 23, 30),
    'an override covering the whole night skips it',
  );
  const expired = { lightsOn: true, untilAt: local(2025, 3, 10, 23, 0) };
  t.equal(phaseAt(DEFAULT_LIGHTING_SCHEDULE_CONFIG, local(2025, 3, 10, 23, 45), expired).lightsOn, false);
});

const LABOUR_DAY: CalendarConfig = { semesters: [], holidays: [{ name: 'Labour Day', from: '2025-05-01', to: '2025-05-05' }] };

t.test('holiday range boundaries are local midnights and are phase changes', async (t) => {
  const rows: ReadonlyArray<[string, number, boolean, boolean, number]> = [
    ['Apr 30 noon', local(2025, 4, 30, 12), true, false, local(2025, 4, 30, 23, 30)],
    ['Apr 30 23:40', local(2025, 4, 30, 23, 40), false, false, local(2025, 5, 1)],
    ['May 1 00:00', local(2025, 5, 1), false, true, local(2025, 5, 1, 6, 30)],
    ['May 5 noon', local(2025, 5, 5, 12), true, true, local(2025, 5, 5, 23, 30)],
    ['May 5 23:59:59.999', local(2025, 5, 5, 23, 59, 59, 999), false, true, local(2025, 5, 6)],
    ['May 6 00:00', local(2025, 5, 6), false, false, local(2025, 5, 6, 6, 30)],
  ];
  for (const [name, at, lightsOn, holiday, nextChangeAt] of rows) {
    t.same(phaseAt(DEFAULT_LIGHTING_SCHEDULE_CONFIG, at, null, LABOUR_DAY), { lightsOn, holiday, nextChangeAt }, name);
  }
});

t.test('nothing changing within the horizon gives a re-check at the horizon', async (t) => {
  const never = schedule({
    sunday: null,
    monday: null,
    tuesday: null,
    wednesday: null,
    thursday: null,
    friday: null,
    saturday: null,
  });
  const at = local(2025, 4, 20, 9, 15);
  t.same(phaseAt(never, at), { lightsOn: true, holiday: false, nextChangeAt: at + PHASE_HORIZON_MS });
  t.equal(phaseAt(never, local(2025, 4, 28, 9, 15), null, LABOUR_DAY).nextChangeAt, local(2025, 5, 1));
});

t.test('touching nights: a boundary where the lights stay off is not a change', async (t) => {
  const touching = schedule({
    friday: { lightsOff: '13:00', lightsOn: '12:00' },
    saturday: { lightsOff: '12:00', lightsOn: '13:00' },
    sunday: null,
  });
  t.same(phaseAt(touching, local(2025, 3, 14, 14)), {
    lightsOn: false,
    holiday: false,
    nextChangeAt: local(2025, 3, 15, 13),
  });
});

t.test('property: nextChangeAt is the first instant at which the phase changes', async (t) => {
  const time = fc.integer({ min: 0, max: 1439 }).map((m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`);
  const night = fc.option(fc.record({ lightsOff: time, lightsOn: time }), { nil: null, freq: 4 });
  const nights = fc.record({
    sunday: night,
    monday: night,
    tuesday: night,
    wednesday: night,
    thursday: night,
    friday: night,
    saturday: night,
  });
  const override = fc.option(fc.record({ lightsOn: fc.boolean(), untilOffsetMs: fc.integer({ min: -3_600_000, max: 2 * 86_400_000 }) }), { nil: null });
  const start = local(2025, 4, 25);
  fc.assert(
    fc.property(nights, override, fc.integer({ min: 0, max: 20 * 86_400_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, o, offsetMs, fraction) => {
      const valid = validateLightingScheduleConfig({ nights: n });
      fc.pre(valid.ok);
      if (!valid.ok) return true;
      const at = start + offsetMs;
      const ov = o === null ? null : { lightsOn: o.lightsOn, untilAt: at + o.untilOffsetMs };
      const phase = lightingPhase(valid.config, LABOUR_DAY, ov, at, UTC_PLUS_8);
      const same = (p: { lightsOn: boolean; holiday: boolean }) => p.lightsOn === phase.lightsOn && p.holiday === phase.holiday;
      const between = at + Math.floor((phase.nextChangeAt - at) * fraction);
      const inside = between < phase.nextChangeAt ? same(lightingPhase(valid.config, LABOUR_DAY, ov, between, UTC_PLUS_8)) : true;
      const justBefore = same(lightingPhase(valid.config, LABOUR_DAY, ov, phase.nextChangeAt - 1, UTC_PLUS_8));
      const after = lightingPhase(valid.config, LABOUR_DAY, ov, phase.nextChangeAt, UTC_PLUS_8);
      const changes = phase.nextChangeAt === at + PHASE_HORIZON_MS || !same(after);
      return phase.nextChangeAt > at && inside && justBefore && changes;
    }),
    { numRuns: 500 },
  );
  t.pass('property held');
});

t.test('evaluateLightingSchedule: verdicts only on changes, holiday-off wins', async (t) => {
  type Step = [string, number, boolean, LightingOverride | null, string, string?, RegExp?];
  const steps: Step[] = [
    ['first evaluation aligns the relay', local(2025, 4, 30, 12), true, null, 'restore', 'lights_off', /^lights on$/],
    ['same phase: nothing', local(2025, 4, 30, 12, 5), true, null, 'none'],
    ['lights-off', local(2025, 4, 30, 23, 30), true, null, 'cut', 'lights_off', /until 06:30/],
    ['holiday starts at midnight', local(2025, 5, 1), true, null, 'cut', 'holiday', /holiday/],
    ['holiday daytime: still off', local(2025, 5, 3, 12), true, null, 'none'],
    ['override cannot lift holiday-off', local(2025, 5, 3, 13), true, { lightsOn: true, untilAt: local(2025, 5, 3, 14) }, 'none'],
    ['holiday over during lights-off', local(2025, 5, 6), true, null, 'cut', 'lights_off', /until 06:30/],
    ['lights-on', local(2025, 5, 6, 6, 30), true, null, 'restore', 'lights_off', /^lights on$/],
    ['override lights off', local(2025, 5, 6, 14), true, { lightsOn: false, untilAt: local(2025, 5, 6, 15) }, 'cut', 'lights_off', /operator override: lights off until 15:00/],
  ];
  let state: LightingScheduleState = initialLightingScheduleState();
  for (const [name, at, holidayOff, override, action, reason, detail] of steps) {
    const result = evaluateLightingSchedule(DEFAULT_LIGHTING_SCHEDULE_CONFIG, state, {
      at,
      zone: UTC_PLUS_8,
      calendar: LABOUR_DAY,
      override,
      holidayOff,
    });
    t.equal(result.verdict.action, action, name);
    if (result.verdict.action !== 'none') {
      const v = result.verdict as ActionVerdict;
      t.equal(v.reason, reason, `${name}: reason`);
      if (detail) t.match(v.detail, detail, `${name}: detail`);
    }
    t.ok(result.phase.nextChangeAt > at, `${name}: next timer ahead`);
    state = result.state;
  }
  const notFlagged = evaluateLightingSchedule(DEFAULT_LIGHTING_SCHEDULE_CONFIG, initialLightingScheduleState(), {
    at: local(2025, 5, 3, 12),
    zone: UTC_PLUS_8,
    calendar: LABOUR_DAY,
    override: null,
    holidayOff: false,
  });
  t.equal(notFlagged.verdict.action, 'restore', 'a dormitory not flagged holidayOff has light on a holiday');
  t.equal(notFlagged.phase.holiday, true);
});

t.test('validateLightingScheduleConfig', async (t) => {
  const partial = validateLightingScheduleConfig({ nights: { friday: null } });
  t.ok(partial.ok);
  if (partial.ok) {
    t.equal(partial.config.nights.friday, null);
    t.same(partial.config.nights.monday, { lightsOff: '23:30', lightsOn: '06:30' }, 'other nights keep the default');
    t.ok(Object.isFrozen(partial.config.nights));
  }
  t.ok(validateLightingScheduleConfig({}).ok);
  const rows: ReadonlyArray<[unknown, string]> = [
    ['23:30', ''],
    [{ nights: { funday: null } }, 'nights.funday'],
    [{ nights: { monday: { lightsOff: '24:00', lightsOn: '06:30' } } }, 'nights.monday.lightsOff'],
    [{ nights: { monday: { lightsOff: '23:30', lightsOn: '6:30' } } }, 'nights.monday.lightsOn'],
    [{ nights: { monday: { lightsOff: '23:30', lightsOn: '23:30' } } }, 'nights.monday.lightsOn'],
    [{ nights: { monday: { lightsOff: '23:30' } } }, 'nights.monday.lightsOn'],
    [{ nights: { sunday: { lightsOff: '02:00', lightsOn: '01:00' } } }, 'nights.sunday'],
    [{ nights: { saturday: { lightsOff: '11:00', lightsOn: '10:00' } } }, 'nights.saturday'],
  ];
  for (const [input, field] of rows) {
    const result = validateLightingScheduleConfig(input);
    t.equal(result.ok ? '(ok)' : result.field, field, JSON.stringify(input));
  }
});

t.test('Europe/Berlin switch days: the schedule reads the wall clock of the zone', async (t) => {
  const berlin = new ZoneRules('Europe/Berlin');
  const utc = (iso: string) => Date.parse(`${iso}Z`);
  const phase = (config: LightingScheduleConfig, at: number) => lightingPhase(config, NO_CALENDAR, null, at, berlin);
  // 23:00 lights-off, 06:00 on, every night: 23:00 local is 21:00Z in summer, 22:00Z in winter.
  const nightly = schedule(Object.fromEntries(['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'].map((d) => [d, { lightsOff: '23:00', lightsOn: '06:00' }])));
  // Autumn: Sunday 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z).
  t.equal(new Date(phase(nightly, utc('2026-10-24T12:00')).nextChangeAt).toISOString(), '2026-10-24T21:00:00.000Z', 'Saturday before the switch: off at 23:00 CEST');
  t.equal(new Date(phase(nightly, utc('2026-10-24T21:00')).nextChangeAt).toISOString(), '2026-10-25T05:00:00.000Z', 'on again at 06:00 CET, after the 25-hour night');
  t.equal(new Date(phase(nightly, utc('2026-10-25T12:00')).nextChangeAt).toISOString(), '2026-10-25T22:00:00.000Z', 'Sunday after the switch: off at 23:00 CET');
  // Spring: Sunday 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z).
  t.equal(new Date(phase(nightly, utc('2026-03-28T12:00')).nextChangeAt).toISOString(), '2026-03-28T22:00:00.000Z', 'Saturday before: off at 23:00 CET');
  t.equal(new Date(phase(nightly, utc('2026-03-28T22:00')).nextChangeAt).toISOString(), '2026-03-29T04:00:00.000Z', 'on at 06:00 CEST, after the 23-hour night');
  t.equal(new Date(phase(nightly, utc('2026-03-29T12:00')).nextChangeAt).toISOString(), '2026-03-29T21:00:00.000Z', 'Sunday after: off at 23:00 CEST');

  // A lights-on in the skipped hour (02:30 on 2026-03-29) acts at the switch, the first instant after it.
  const skipped = schedule({ saturday: { lightsOff: '23:00', lightsOn: '02:30' } });
  const spring = phase(skipped, utc('2026-03-28T22:00'));
  t.equal(spring.lightsOn, false, 'lights off on Saturday night');
  t.equal(new Date(spring.nextChangeAt).toISOString(), '2026-03-29T01:00:00.000Z', '02:30 does not exist: on at 03:00 CEST');
  t.equal(phase(skipped, utc('2026-03-29T00:59')).lightsOn, false, '01:59 CET: still off');
  t.equal(phase(skipped, utc('2026-03-29T01:00')).lightsOn, true, '03:00 CEST: on');

  // A lights-on in the repeated hour (02:30 on 2026-10-25) acts once, at its first occurrence.
  const repeated = schedule({ saturday: { lightsOff: '23:00', lightsOn: '02:30' } });
  const autumn = phase(repeated, utc('2026-10-24T21:00'));
  t.equal(new Date(autumn.nextChangeAt).toISOString(), '2026-10-25T00:30:00.000Z', 'on at the first 02:30 (CEST)');
  for (const at of ['2026-10-25T00:30', '2026-10-25T00:59', '2026-10-25T01:00', '2026-10-25T01:15', '2026-10-25T01:45', '2026-10-25T02:00']) {
    t.equal(phase(repeated, utc(at)).lightsOn, true, `${at}Z: on (the second pass of 02:00-03:00 does not turn them off again)`);
  }
  const afterFirst = phase(repeated, utc('2026-10-25T00:30'));
  t.equal(new Date(afterFirst.nextChangeAt).toISOString(), '2026-10-25T22:30:00.000Z', "the next change is Sunday's lights-off (the default 23:30, CET)");
  // A lights-off in the repeated hour also acts once.
  const offInFold = schedule({ saturday: { lightsOff: '02:30', lightsOn: '05:00' } });
  const first = phase(offInFold, utc('2026-10-24T23:00'));
  t.equal(new Date(first.nextChangeAt).toISOString(), '2026-10-25T00:30:00.000Z', 'off at the first 02:30 (CEST)');
  t.equal(phase(offInFold, utc('2026-10-25T01:10')).lightsOn, false, 'second pass through 02:10: still off');
  t.equal(new Date(phase(offInFold, utc('2026-10-25T00:30')).nextChangeAt).toISOString(), '2026-10-25T04:00:00.000Z', 'on at 05:00 CET: the only change after it');
  const verdict = evaluateLightingSchedule(nightly, initialLightingScheduleState(), { at: utc('2026-10-24T21:00'), zone: berlin, calendar: NO_CALENDAR, override: null, holidayOff: false });
  t.match((verdict.verdict as ActionVerdict).detail, /until 06:00/, 'the verdict names the local time');
});

t.test('holiday midnights follow the zone across a switch', async (t) => {
  const berlin = new ZoneRules('Europe/Berlin');
  const calendar: CalendarConfig = { semesters: [], holidays: [{ name: 'autumn break', from: '2026-10-26', to: '2026-10-26' }] };
  const none = schedule({ sunday: null, monday: null, tuesday: null, wednesday: null, thursday: null, friday: null, saturday: null });
  const before = lightingPhase(none, calendar, null, Date.parse('2026-10-25T12:00:00Z'), berlin);
  t.equal(new Date(before.nextChangeAt).toISOString(), '2026-10-25T23:00:00.000Z', 'the holiday begins at midnight CET (23:00Z), not 22:00Z');
  t.equal(lightingPhase(none, calendar, null, Date.parse('2026-10-25T22:30:00Z'), berlin).holiday, false, '23:30 CET on the 25th is not the holiday');
});
