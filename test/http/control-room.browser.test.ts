import type { Page } from 'playwright-core';
import t from 'tap';
import { listAudit } from '../../src/db/audit.repository.ts';
import { browserSkip as skip, collectErrors, collectForeignRequests, launchBrowser, screenshot, textOf as text } from '../helpers/browser.ts';
import { machineStretch, startLiveApp, waitFor } from '../helpers/live-app.ts';
import { ADMIN_PASSWORD } from '../helpers/test-app.ts';

type Alarm = { id: number; kind: string; raisedAt: string; state: string; acknowledgedBy: string | null; releasedBy: string | null; rooms: string[] };

/** What the page shows for a moment: i18n.js's `datetime` style, in the campus zone. */
const campusDateTime = (iso: string, locale: string, timeZone: string) =>
  new Intl.DateTimeFormat(locale, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }).format(new Date(iso));

async function signIn(page: Page, url: string) {
  await page.goto(`${url}/`);
  await page.fill('#username', 'admin');
  await page.fill('#password', ADMIN_PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#connection[data-status="live"]');
}

t.test('control room on the running campus: alarms from the simulator, acknowledge, release with a reason, search, cut all, zh-CN, stale feed', { skip }, async (t) => {
  const test = await startLiveApp(t, {}, { quietAtBoot: true });
  const { app, admin, url } = test;
  const inject = (method: 'GET' | 'POST', path: string, payload?: object) => app.http.inject({ method, url: path, headers: admin, ...(payload ? { payload } : {}) });
  const alarmsOf = async (query: string) => (await inject('GET', `/api/alarms?${query}`)).json<{ items: Alarm[]; total: number }>();
  const timeZone = (await inject('GET', '/api/campuses')).json<{ campuses: { timeZone: string }[] }>().campuses[0]!.timeZone;

  const browser = await launchBrowser(t);
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 }, locale: 'en-US' });
  const errors = collectErrors(page);
  const foreign = collectForeignRequests(page, url);
  await signIn(page, url);
  await page.waitForFunction(() => document.querySelectorAll('[data-dormitory-id]').length === 68);
  await page.waitForSelector('#alarm-range:not(:empty)');
  t.equal(await page.getAttribute('#alarm-sound', 'data-beeps'), '0', 'no beep for what was there at sign-in');

  // An alarm raised through the simulator: an opened meter cover is a critical tamper alarm.
  t.equal((await inject('POST', '/api/simulator/dormitories/A-113/events', { kind: 'cover_opened' })).statusCode, 202);
  const tamper = await waitFor('the tamper alarm of A-113', async () => (await alarmsOf('state=active&dormitory=A-113')).items.find((a) => a.kind === 'tamper'));
  const row = `.alarm[data-alarm-id="${tamper.id}"]`;
  await page.waitForSelector(row, { timeout: 20_000 * machineStretch() });
  t.equal(await text(page, `${row} .alarm-title`), 'Meter tampering', 'a human title, not the code');
  t.equal(await text(page, `${row} .severity`), 'critical');
  t.equal(await text(page, `${row} .alarm-time`), campusDateTime(tamper.raisedAt, 'en-US', timeZone), `date and time in the campus zone (${timeZone})`);
  t.match(await text(page, `${row} .alarm-time`), /^\d{2}\/\d{2}\/\d{4}, \d{2}:\d{2}$/, 'with the date');
  await page.waitForSelector('#alarm-sound[data-beeps="1"]');
  t.pass('a new critical alarm beeps once');
  await page.waitForSelector('[data-dormitory-id="A-113"].has-alarm', { timeout: 20_000 * machineStretch() });
  t.pass("the room's tile carries the alarm dot (the live feed's activeAlarms)");
  t.equal(await text(page, '#alarm-count'), String((await alarmsOf('state=active')).total), 'the badge counts every active alarm');

  // Acknowledge: seen, still active.
  await page.click(`${row} button[data-alarm-action="acknowledge"]`);
  await page.waitForSelector(`${row}[data-acknowledged="true"]`);
  t.match(await text(page, `${row} .alarm-status`), /^Seen by admin at \d{2}\/\d{2}\/\d{4}/);
  const acknowledged = (await alarmsOf('state=active&dormitory=A-113')).items.find((a) => a.id === tamper.id)!;
  t.equal(acknowledged.state, 'active', 'still active after acknowledging');
  t.equal(acknowledged.acknowledgedBy, 'admin', 'who saw it is stored');
  t.equal(await page.locator(`${row} button[data-alarm-action="acknowledge"]`).count(), 0, 'no second acknowledge button');

  // Release asks for a reason first; cancelling sends nothing.
  await page.click(`${row} button[data-alarm-action="release"]`);
  await page.waitForSelector('#confirm-dialog[open]');
  t.match(await text(page, '#confirm-title'), /Release alarm “Meter tampering”/);
  await page.click('#confirm-cancel');
  await page.waitForSelector('#confirm-dialog', { state: 'hidden' });
  t.equal((await alarmsOf('state=active&dormitory=A-113')).items.some((a) => a.id === tamper.id), true, 'cancelled: still active');
  await page.click(`${row} button[data-alarm-action="release"]`);
  await page.click('#confirm-ok');
  await page.waitForSelector('#confirm-error:not([hidden])');
  t.match(await text(page, '#confirm-error'), /reason is needed/, 'an empty reason is refused in the page');
  await page.fill('#confirm-reason', 'meter cover closed and sealed');
  await page.click('#confirm-ok');
  await page.waitForSelector(row, { state: 'detached' });
  const released = (await alarmsOf('state=released&dormitory=A-113')).items.find((a) => a.id === tamper.id);
  t.equal(released?.releasedBy, 'admin', 'released by the operator');
  const audit = await listAudit(test.database.db, 'alarm', String(tamper.id));
  t.same(
    audit.map((a) => [a.action, (a.details as { reason?: string }).reason]),
    [
      ['alarm.release', 'meter cover closed and sealed'],
      ['alarm.acknowledge', undefined],
    ],
    'the acknowledgement and the release with its reason are in the audit log',
  );
  await page.selectOption('#alarm-filter-state', 'released');
  await page.waitForSelector(`${row}[data-state="released"]`);
  t.match(await text(page, `${row} .alarm-status`), /^Released by admin at /, 'the released filter shows it with who released it');

  // Muted: the next critical alarm shows but does not beep.
  await page.selectOption('#alarm-filter-state', 'active');
  await page.click('#alarm-sound');
  t.equal(await page.getAttribute('#alarm-sound', 'aria-pressed'), 'true', 'muted');
  t.equal((await inject('POST', '/api/simulator/dormitories/B-104/events', { kind: 'cover_opened' })).statusCode, 202);
  await page.waitForSelector('.alarm[data-kind="tamper"] .room-link[data-room="B-104"]', { timeout: 20_000 * machineStretch() });
  t.equal(await page.getAttribute('#alarm-sound', 'data-beeps'), '1', 'no beep while muted');

  // One gateway outage is one row with its rooms.
  t.equal((await inject('POST', '/api/simulator/gateways/GW-A2/offline')).statusCode, 202);
  const outage = await waitFor('the GW-A2 outage alarm', async () => (await alarmsOf('state=active&kind=gateway_offline')).items.find((a) => a.rooms.includes('A-201')), 30_000);
  const outageRow = `.alarm[data-alarm-id="${outage.id}"]`;
  await page.waitForSelector(outageRow, { timeout: 20_000 * machineStretch() });
  t.equal(await page.locator('.alarm[data-kind="gateway_offline"]').count(), 1, 'one row for the outage');
  t.equal(await page.locator(`${outageRow} .room-link`).count(), Math.min(12, outage.rooms.length), 'its rooms listed (up to 12)');
  t.match(await text(page, `${outageRow} .gateway`), new RegExp(`Gateway GW-A2 · ${outage.rooms.length} room`));
  t.equal((await inject('POST', '/api/simulator/gateways/GW-A2/online')).statusCode, 202);

  // Filters and paging (server-side): 25 more warnings in building B.
  await test.database.db
    .insertInto('alarms')
    .values(Array.from({ length: 25 }, (_, i) => ({ dormitory_id: `B-1${String(i % 17 + 1).padStart(2, '0')}`, meter_id: null, gateway_id: null, circuit: 'socket', kind: 'low_current', severity: 'warning', message: `low-current limit ${i}`, evidence: JSON.stringify([]), raised_at: new Date() })))
    .execute();
  await page.selectOption('#alarm-filter-kind', 'low_current');
  await page.waitForFunction(() => document.querySelector('#alarm-range')?.textContent === '1–20 of 25');
  t.equal(await page.locator('.alarm').count(), 20, 'a page of 20');
  await page.click('#alarm-next');
  await page.waitForFunction(() => document.querySelector('#alarm-range')?.textContent === '21–25 of 25');
  t.equal(await page.locator('.alarm').count(), 5, 'the second page holds the rest');
  await page.selectOption('#alarm-filter-building', 'BA');
  await page.waitForFunction(() => document.querySelector('#alarm-range')?.textContent === '0–0 of 0');
  t.pass('building A has no low-current alarms');
  await page.selectOption('#alarm-filter-kind', '');
  await page.selectOption('#alarm-filter-building', 'BB');
  await page.waitForFunction(() => document.querySelectorAll('.alarm').length > 0 && Array.from(document.querySelectorAll('.alarm .room-link')).every((b) => (b as HTMLElement).dataset.room!.startsWith('B-')));
  t.pass('the building filter keeps building B');
  await page.selectOption('#alarm-filter-building', '');
  await page.selectOption('#alarm-filter-kind', 'tamper');
  await page.waitForFunction(() => Array.from(document.querySelectorAll('.alarm')).every((a) => (a as HTMLElement).dataset.kind === 'tamper'));
  await screenshot(page, 'control-room-alarms');

  // Search by a student's name opens the room, from the keyboard.
  const occupant = await test.database.db.selectFrom('occupants').select(['name', 'student_number']).where('dormitory_id', '=', 'A-107').orderBy('id').executeTakeFirstOrThrow();
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press('/');
  t.equal(await page.evaluate(() => document.activeElement?.id), 'search', '"/" focuses the search box');
  await page.keyboard.type(occupant.student_number);
  // Slow keystrokes let the 200 ms debounce search prefixes of the number, whose lists hold A-107 but start with
  // wait for the full number's answer (the one room) before Enter picks the first result.
  await page.waitForFunction(() => {
    const results = document.querySelectorAll<HTMLElement>('#search-results:not([hidden]) .search-result');
    return results.length === 1 && results[0]!.dataset.result === 'A-107';
  });
  t.pass('a full student number finds exactly its room');
  await page.keyboard.press('Enter');
  const drawerOf107 = () => document.querySelector('#panel-title')?.textContent === 'A-107' && !document.querySelector('#room-panel')?.hasAttribute('hidden');
  await page.waitForFunction(drawerOf107);
  t.pass('a student number finds the room and Enter opens its drawer');
  await page.click('#panel-close');
  // Enter acts on the text in the box, not on whatever list is up: typed (or scanned) and Enter at once, with no list
  // yet or one answering a prefix of the number (A-101 first), it still opens A-107.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press('/');
  await page.keyboard.type(occupant.student_number);
  await page.keyboard.press('Enter');
  await page.waitForFunction(drawerOf107, undefined, { timeout: 20_000 * machineStretch() });
  t.pass('Enter right after the number opens its drawer, not an older list\'s first room');
  await page.click('#panel-close');
  await page.fill('#search', occupant.name);
  await page.click('.search-result[data-result="A-107"]');
  await page.waitForSelector('#room-panel:not([hidden])');
  t.equal(await text(page, '#panel-title'), 'A-107', 'a name finds it too');

  // "Cut all" asks for confirmation and a reason, which is audited with the command.
  await page.click('#room-panel button[data-circuit="all"][data-action="cut"]');
  await page.waitForSelector('#confirm-dialog[open]');
  t.match(await text(page, '#confirm-title'), /Cut every circuit of A-107/);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#confirm-dialog', { state: 'hidden' });
  t.equal((await inject('GET', '/api/dormitories/A-107/commands')).json<{ items: unknown[] }>().items.length, 0, 'Escape cancels: no command');
  t.notOk(await page.locator('#room-panel').isHidden(), 'and the drawer stays open');
  await page.click('#room-panel button[data-circuit="all"][data-action="cut"]');
  await page.fill('#confirm-reason', 'fire drill on floor 1');
  await page.click('#confirm-ok');
  await page.waitForSelector('#panel-message[data-kind="ok"]', { timeout: 20_000 * machineStretch() });
  const cutAudit = (await listAudit(test.database.db, 'dormitory', 'A-107')).filter((a) => a.action === 'command.cut');
  t.same(
    cutAudit.map((a) => [a.operator, (a.details as { circuit: string; reason: string }).circuit, (a.details as { reason: string }).reason]),
    [['admin', 'all', 'fire drill on floor 1']],
    'one audited cut of all circuits, with the reason typed in the confirmation',
  );
  await page.waitForSelector('[data-dormitory-id="A-107"][data-state="cut_manual"]', { timeout: 20_000 * machineStretch() });
  await screenshot(page, 'control-room-room-cut');

  // The zh-CN switch translates the dashboard.
  await page.selectOption('#locale-switch', 'zh-CN');
  await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  t.equal(await text(page, '#alarms-panel h2 span[data-i18n="alarms.title"]'), '告警');
  t.equal(await text(page, '.state-chip[data-state="normal"] .chip-label'), '正常', 'the legend');
  t.equal(await text(page, '#panel-state'), '手动断电', 'the drawer');
  t.equal(await text(page, '.alarm[data-kind="tamper"] .alarm-title'), '电表被打开或篡改', 'alarm titles');
  t.equal(await page.getAttribute('#search', 'placeholder'), '房间、学号或姓名（/）', 'placeholders');
  t.equal(await text(page, '#connection'), '实时');
  await screenshot(page, 'control-room-zh-CN');
  await page.selectOption('#locale-switch', 'en');
  await page.waitForFunction(() => document.querySelector('.state-chip[data-state="normal"] .chip-label')?.textContent === 'Normal');

  // The server goes away: the map dims and says when it was last updated.
  await page.click('#panel-close');
  await app.stop();
  await page.waitForSelector('#campus-map[data-stale="true"]', { timeout: 20_000 * machineStretch() });
  t.match(await text(page, '#last-update'), /^last update \d{2}:\d{2}:\d{2}$/, 'the time of the last update is shown');
  t.not(await page.getAttribute('#connection', 'data-status'), 'live');
  await screenshot(page, 'control-room-stale');

  t.same(foreign, [], 'every request went to the server');
  t.same(
    errors.filter((e) => !/ERR_CONNECTION_REFUSED|WebSocket connection/.test(e)),
    [],
    'no page or console errors (but the refused reconnections after the stop)',
  );
});
