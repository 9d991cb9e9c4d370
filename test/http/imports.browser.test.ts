import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { DEMO_CAMPUS_SHAPE } from '../../src/services/demo-campus.seed.ts';
import { browserSkip as skip, collectErrors, collectForeignRequests, launchBrowser, screenshot, textOf as text } from '../helpers/browser.ts';
import { workbookOf } from '../helpers/import-files.ts';
import { startLiveApp } from '../helpers/live-app.ts';
import { ADMIN_PASSWORD } from '../helpers/test-app.ts';

t.test('the Excel batch page: a check-in workbook uploaded, its progress from the job feed, then a refused one with its bad rows', { skip }, async (t) => {
  const test = await startLiveApp(t, { SIMULATOR_SPEED: '0' }, { demoShape: { ...DEMO_CAMPUS_SHAPE, floors: 1, roomsPerFloor: 1 } });
  const { app, admin, url } = test;
  const created = await app.http.inject({ method: 'POST', url: '/api/dormitories', headers: admin, payload: { id: 'T-1', building: 'BA', floor: 9, room: 'T-1', capacity: 4 } });
  t.equal(created.statusCode, 201, created.body);
  const folder = mkdtempSync(join(tmpdir(), 'imports-'));
  const good = join(folder, 'freshmen.xlsx');
  writeFileSync(
    good,
    await workbookOf(
      ['学号', '姓名', '学院', '班级', '宿舍'],
      [
        ['2026101', '张伟', '计算机学院', '计科2601', 'T-1'],
        ['2026102', '李娜', '计算机学院', '计科2601', 'T-1'],
        ['2026103', '王芳', '文学院', '汉语2601', 'T-1'],
      ],
    ),
  );
  const bad = join(folder, 'bad.xlsx');
  writeFileSync(bad, await workbookOf(['学号', '宿舍'], [['2026101', 'NOPE-1'], ['', 'T-1']]));

  const browser = await launchBrowser(t);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const errors = collectErrors(page);
  const foreign = collectForeignRequests(page, url);
  await page.goto(`${url}/`);
  await page.fill('#username', 'admin');
  await page.fill('#password', ADMIN_PASSWORD);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#connection[data-status="live"]');
  await page.goto(`${url}/imports.html`);
  const jobMessages: string[] = [];
  page.on('websocket', (socket) => socket.on('framereceived', (frame) => String(frame.payload).startsWith('{"type":"job"') && jobMessages.push(String(frame.payload))));

  await page.selectOption('#import-kind', 'check-ins');
  await page.setInputFiles('#import-file', good);
  await page.click('#import-form button[type=submit]');
  await page.waitForSelector('#job-state[data-state="done"]', { timeout: 30_000 });
  t.equal(await text(page, '#job-count'), '3 of 3 rows', 'the bar is full');
  t.equal(await page.evaluate(() => (document.getElementById('job-progress') as HTMLProgressElement).value), 3);
  t.match(await text(page, '#job-summary'), /^3 rows applied · 3 students opened/);
  t.ok(jobMessages.some((m) => m.includes('"state":"done"')), 'the page heard the job on the live feed');
  const occupants = (await app.http.inject({ method: 'GET', url: '/api/dormitories/T-1', headers: admin })).json<{ occupants: { studentNumber: string }[] }>().occupants;
  t.same(occupants.map((o) => o.studentNumber).sort(), ['2026101', '2026102', '2026103'], 'the three are checked in');
  await screenshot(page, 'imports-done');

  await page.setInputFiles('#import-file', bad);
  await page.click('#import-form button[type=submit]');
  await page.waitForSelector('#job-state[data-state="failed"]', { timeout: 30_000 });
  await page.waitForSelector('#job-errors:not([hidden])');
  const rows = await page.locator('#job-errors tbody tr').evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.row));
  t.same([...new Set(rows)], ['2', '3'], 'both bad rows are listed with their sheet row (a row may have several problems)');
  t.match(await text(page, '#job-errors tbody tr[data-row="2"]'), /dormitory/, 'naming the field');
  await page.selectOption('select[data-locale-switch]', 'zh-CN');
  t.equal(await text(page, '#job-state'), '已拒绝', 'the page switches to Chinese');
  await screenshot(page, 'imports-refused-zh-CN');

  t.same(foreign, [], 'every request went to the server');
  t.same(errors.filter((e) => !/status of 400/.test(e)), [], 'no page or console errors');
});
