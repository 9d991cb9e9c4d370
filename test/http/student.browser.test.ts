import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import t from 'tap';
import { appendPostings } from '../../src/db/ledger.repository.ts';
import { browserSkip as skip, collectErrors, collectForeignRequests, launchBrowser, screenshot, textOf } from '../helpers/browser.ts';
import { startLiveApp } from '../helpers/live-app.ts';

/**
 * The student page on a 360 px phone against the real app (dormitory actors and live feed
 * running, the sandbox payment provider enabled): balances with days left and free quota,
 * usage by day and circuit from the server, the ledger paged with free-quota usage folded by
 * day, and a recharge paid through the sandbox that reaches the page without a reload.
 */
const SECRET = 'test-webhook-secret-0123456789';
const HOUR = 3_600_000;

/** Whether uPlot is installed (the chart library the page imports from /vendor/uplot/, served from node_modules). */
const uplotInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('uplot/package.json');
    return true;
  } catch {
    return false;
  }
})();

/** Paths the page asked for that answered 400 or more. */
function failedRequests(page: Page): string[] {
  const failed: string[] = [];
  page.on('response', (response) => {
    if (response.status() >= 400) failed.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
  return failed;
}

t.test('a student recharges through the sandbox on a 360 px phone and sees the balance change without reload', { skip }, async (t) => {
  // The simulator's clock stands still (speed 0): the meters answer, but use no energy, so the
  // balance moves only by the recharge and the history is the one written below.
  const test = await startLiveApp(t, { PAYMENT_PROVIDERS: 'sandbox', WEBHOOK_SECRET: SECRET, SIMULATOR_SPEED: '0' });
  const { url, admin } = test;
  const { db } = test.database;
  const http = test.app.http;
  t.equal((await http.inject({ method: 'POST', url: '/api/students', headers: admin, payload: { id: 'S-PHONE', name: 'Li Wei', college: 'Science', class: 'P-1', password: 'student-password-1' } })).statusCode, 201);
  const leaver = await db.selectFrom('occupancies').select('student_number').where('dormitory_id', '=', 'A-103').where('to_day', 'is', null).executeTakeFirstOrThrow();
  t.equal((await http.inject({ method: 'POST', url: `/api/students/${leaver.student_number}/check-out`, headers: admin, payload: {} })).statusCode, 200);
  t.equal((await http.inject({ method: 'POST', url: '/api/dormitories/A-103/check-ins', headers: admin, payload: { studentId: 'S-PHONE' } })).statusCode, 201, 'the student lives in A-103');

  // History: yesterday's and today's quarter hours inside the free quota (charged 0.00), and readings.
  // The server counts days on the campus's zone (Asia/Shanghai, UTC+8 all year) by its own clock,
  // frozen at boot (speed 0): "today" and "yesterday" are placed inside the local days of that
  // instant, whatever the hour the test runs at (booted in the first hour after local midnight,
  // an hour ago was yesterday), and however long after the boot this line runs.
  const now = test.app.context.clock.now();
  const sinceMidnight = (now + 8 * HOUR) % (24 * HOUR);
  const todayAt = now - Math.min(HOUR, sinceMidnight / 2);
  const yesterdayNoon = now - sinceMidnight - 12 * HOUR;
  const quarter = (at: number) => new Date(Math.floor(at / 900_000) * 900_000);
  const free = [0, 1, 2, 3, 4, 5].map((i) => ({ dormitoryId: 'A-103', purse: 'electricity' as const, kind: 'consumption_charge' as const, amount: 0, usage: 100 + i, meterId: 'M-A-103', occurredAt: new Date(yesterdayNoon - i * 900_000) }));
  const today = [0, 1, 2].map((i) => ({ dormitoryId: 'A-103', purse: 'electricity' as const, kind: 'consumption_charge' as const, amount: 0, usage: 200, meterId: 'M-A-103', occurredAt: new Date(now - (i + 1) * Math.min(60_000, sinceMidnight / 4)) }));
  await db.transaction().execute((trx) => appendPostings(trx, [...free.reverse(), ...today.reverse()]));
  const reading = (channel: string, at: number, usage: number) => ({ meter_id: 'M-A-103', channel, interval_start: quarter(at), usage, max_power_w: 400, register_end: 0 });
  await db
    .insertInto('interval_readings')
    .values([reading('main', yesterdayNoon, 1500), reading('lighting', yesterdayNoon, 300), reading('socket', yesterdayNoon, 1200), reading('main', todayAt, 2500), reading('ac', todayAt, 2500)])
    .execute();

  const browser = await launchBrowser(t);
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'en-US' });
  const page = await context.newPage();
  // 404s are judged by path below (failedRequests), not by the console's pathless message.
  const errors = collectErrors(page, [/status of 404/]);
  const failed = failedRequests(page);
  const foreign = collectForeignRequests(page, url);
  await page.goto(`${url}/student.html`);
  await page.fill('#username', 'S-PHONE');
  await page.fill('#password', 'student-password-1');
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#room-title')?.textContent === 'Room 103');
  await page.waitForSelector('#usage-table tbody tr');
  await page.evaluate(() => Object.assign(window, { sameDocument: true }));

  // Usage by day and circuit, from GET /api/me/usage.
  t.equal(await page.locator('#usage-table tbody tr').count(), 14, 'fourteen days of usage');
  t.equal(await textOf(page, '#usage-table tbody tr:first-child td:nth-child(2)'), '2.5', 'today: 2.5 kWh');
  t.equal(await textOf(page, '#usage-circuits li[data-circuit="socket"] .usage-total'), '1.2 kWh', 'by circuit: sockets');
  t.equal(await textOf(page, '#usage-circuits li[data-circuit="ac"] .usage-total'), '2.5 kWh');
  if (uplotInstalled) {
    await page.waitForSelector('#usage-chart[data-drawn] canvas');
    t.pass('the usage chart is drawn by uPlot');
  } else {
    await page.waitForSelector('#usage-note:not([hidden])');
    t.equal(await textOf(page, '#usage-note'), 'The chart could not be drawn; the numbers are in the table.', 'without uPlot the page says so and keeps the table');
  }
  const detail = (await (await http.inject({ method: 'GET', url: '/api/dormitories/A-103', headers: admin })).json()) as { quota: { electricity: { remaining: number } } };
  t.equal(await textOf(page, '#quota-electricity'), `free quota left: ${Number((detail.quota.electricity.remaining / 1000).toFixed(1))} kWh`, 'the free quota left, as the server says');
  // The ledger: nine 0.00 rows folded by the server (fold=free-usage-by-day) into one row per day.
  const groups = page.locator('#ledger .ledger-group');
  t.equal(await groups.count(), 2, 'free-quota usage: one row for today, one for yesterday');
  t.match(await textOf(page, '#ledger .ledger-group >> nth=0'), /3 readings · 0\.6 kWh/, 'today’s three readings, 600 Wh');
  t.match(await textOf(page, '#ledger .ledger-group >> nth=1'), /6 readings · 0\.62 kWh/, 'yesterday’s six readings, 615 Wh');
  t.equal(await page.locator('#ledger .ledger-entry[data-kind="consumption_charge"]').count(), 0, 'no 0.00 rows');
  t.equal(await textOf(page, '#ledger-page'), 'Page 1', 'keyset pages: no total');
  t.ok(await page.$('#ledger-next:disabled'), 'and no next page');

  const overflow = async () =>
    page.evaluate(() => {
      const width = window.innerWidth;
      const wide = Array.from(document.body.querySelectorAll('*')).filter((node) => {
        const box = node.getBoundingClientRect();
        return box.width > 0 && (box.right > width + 0.5 || box.left < -0.5);
      });
      return { scrollWidth: document.documentElement.scrollWidth, width, wide: wide.map((node) => `${node.tagName.toLowerCase()}#${node.id}.${(node as HTMLElement).className}`) };
    });
  const before = await overflow();
  t.equal(before.scrollWidth, 360, 'no horizontal scrolling at 360 px');
  t.same(before.wide, [], 'no element sticks out at 360 px');
  await screenshot(page, 'student-360-before', { fullPage: true });

  // Recharge through the sandbox: the pay page opens in a new window; the credit reaches this page by the live feed.
  const start = (await db.selectFrom('accounts').select('balance').where('dormitory_id', '=', 'A-103').where('purse', '=', 'electricity').executeTakeFirstOrThrow()).balance;
  const expected = `¥${((start + 1234) / 100).toFixed(2)}`;
  await page.fill('#pay-amount', '12.345');
  await page.click('#pay-form button[type=submit]');
  t.equal(await textOf(page, '#pay-message'), 'Enter an amount in yuan, e.g. 50 or 12.50.', 'three decimals are refused before anything is sent');
  await page.fill('#pay-amount', '12.34');
  const [payWindow] = await Promise.all([context.waitForEvent('page'), page.click('#pay-form button[type=submit]')]);
  const payErrors = collectErrors(payWindow, [/status of 404/]);
  const payFailed = failedRequests(payWindow);
  const payForeign = collectForeignRequests(payWindow, url);
  await payWindow.waitForLoadState();
  t.match(new URL(payWindow.url()).pathname, /^\/api\/payments\/sandbox\/pay\/sandbox-[0-9a-f]{24}$/, 'the sandbox’s pay page, on this server');
  t.match(await textOf(page, '#pay-message'), /^Payment sandbox-[0-9a-f]{24} started/);
  t.not(await textOf(page, '#balance-electricity'), expected, 'nothing is credited before paying');
  await payWindow.click('button[type=submit]');
  await page.waitForFunction((text) => document.querySelector('#balance-electricity')?.textContent === text, expected, { timeout: 20_000 });
  t.pass(`the balance shown changes to ${expected} once the sandbox pays`);
  t.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, 'without a reload');
  await page.waitForSelector('#ledger .ledger-entry[data-kind="recharge"]');
  t.match(await textOf(page, '#ledger .ledger-entry[data-kind="recharge"] >> nth=0'), /Recharge[\s\S]*\+¥12\.34/, 'the ledger follows with the recharge');
  const after = await overflow();
  t.same(after.wide, [], 'still nothing sticks out after the recharge');
  await screenshot(page, 'student-360-after', { fullPage: true });
  t.same(errors, [], 'no page or console errors');
  t.same([...new Set(failed)], uplotInstalled ? [] : ['404 /vendor/uplot/uPlot.esm.js'], 'no request failed (but the chart library while it is not installed)');
  t.same(payErrors, [], 'none on the pay page');
  t.same(payFailed.filter((f) => f !== '404 /favicon.ico'), [], 'nor a request of the pay page (its browser’s favicon aside)');
  t.same(foreign, [], 'every request of the student page went to the server');
  t.same(payForeign, [], 'and of the pay page');
});
