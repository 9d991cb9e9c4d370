import t from 'tap';
import { browserSkip as skip, launchBrowser, screenshot, textOf as text } from '../helpers/browser.ts';
import { OFFICE_CAMPUS_SHAPE, officePage } from '../helpers/office-page.ts';
import { startLiveApp } from '../helpers/live-app.ts';

const DAY_MS = 86_400_000;

t.test('office pages: a student is created, checked in and checked out with the settlement shown, field errors beside their fields', { skip }, async (t) => {
  const { app, admin, url } = await startLiveApp(t, { SIMULATOR_SPEED: '0' }, { demoShape: OFFICE_CAMPUS_SHAPE });
  const room = await app.http.inject({ method: 'POST', url: '/api/dormitories', headers: admin, payload: { id: 'T-1', building: 'BA', floor: 9, room: 'T-1', capacity: 2 } });
  t.equal(room.statusCode, 201, room.body);

  const browser = await launchBrowser(t);
  const { page, errors, foreign } = await officePage(browser, url, { ...admin, role: 'admin', username: 'admin' });

  // The dashboard links every office page.
  await page.goto(`${url}/`);
  await page.click('a[href="/students.html"]');
  await page.waitForSelector('#create-form:not([hidden])');

  await page.fill('#create-form [name=id]', '2026001');
  await page.fill('#create-form [name=name]', '张伟');
  await page.fill('#create-form [name=college]', '计算机学院');
  await page.fill('#create-form [name=class]', '计科2601');
  await page.click('#create-form button[type=submit]');
  await page.waitForSelector('#detail:not([hidden]) #detail-id:text("2026001")');
  t.match(await text(page, '#create-note'), /^Student 2026001 created\. Password \(shown once, hand it over now\): \S{10,}$/, 'the generated password is shown once');
  t.equal(await text(page, '#detail-current'), 'Not checked in', 'the record opens: no room yet');

  // The same number again: the server's 409 is shown at the number field.
  await page.fill('#create-form [name=id]', '2026001');
  await page.fill('#create-form [name=name]', '李娜');
  await page.fill('#create-form [name=college]', '文学院');
  await page.fill('#create-form [name=class]', '汉语2601');
  await page.click('#create-form button[type=submit]');
  const duplicate = await page.waitForSelector('#create-form .field-error[data-field-error="id"]');
  t.match(await duplicate.textContent(), /student 2026001 already exists/, "the server's message");
  t.equal(await page.getAttribute('#create-form [name=id]', 'aria-invalid'), 'true', 'the field is marked');

  // From the record to the check-in form, prefilled.
  await page.click('#detail-actions a[href*="action=check-in"]');
  await page.waitForSelector('#form-check-in:not([hidden])');
  await page.waitForFunction(() => (document.querySelector('#form-check-in [name=studentId]') as HTMLInputElement | null)?.value !== '');
  t.equal(await page.inputValue('#form-check-in [name=studentId]'), '2026001', 'the check-in form has the student');
  await page.fill('#form-check-in [name=dormitoryId]', 'NOPE-1');
  await page.click('#form-check-in button[type=submit]');
  await page.click('#office-confirm[open] [data-confirm-ok]');
  await page.waitForSelector('#form-check-in .field-error[data-field-error="DORMITORY_NOT_FOUND"], #form-check-in .field-error[data-field-error="dormitoryId"]');
  t.match(await text(page, '#form-check-in .field-error'), /dormitory NOPE-1 does not exist/, 'an unknown room is named at the room field');

  const threeDaysAgo = new Date(Date.now() - 3 * DAY_MS).toISOString().slice(0, 10);
  await page.fill('#form-check-in [name=dormitoryId]', 'T-1');
  await page.fill('#form-check-in [name=date]', threeDaysAgo);
  await page.click('#form-check-in button[type=submit]');
  t.match(await text(page, '#office-confirm[open] [data-confirm-body]'), /Check student 2026001 into dormitory T-1\?/, 'it asks first');
  await page.click('#office-confirm[open] [data-confirm-ok]');
  await page.waitForSelector('#result[data-action="check-in"] li[data-side="opened"]');
  t.match(await text(page, '#result-stays'), /2026001 lives in T-1 \(bed 1\)/, 'the new stay is shown');

  // The student pays ¥50 into the room; leaving, the room owes it back.
  const paid = await app.http.inject({ method: 'POST', url: '/api/dormitories/T-1/recharges', headers: admin, payload: { amount: 5000, method: 'cash', reference: 'office-browser-1', studentId: '2026001' } });
  t.equal(paid.statusCode, 201, paid.body);

  await page.click('#actions button[data-action="check-out"]');
  t.equal(await page.inputValue('#form-check-out [name=studentId]'), '2026001', 'the check-out form has the student');
  await page.click('#form-check-out button[type=submit]');
  await page.click('#office-confirm[open] [data-confirm-ok]');
  const electricity = '#result[data-action="check-out"] tr.settlement[data-purse="electricity"]';
  await page.waitForSelector(electricity);
  t.equal(await page.getAttribute(electricity, 'data-direction'), 'refund', 'the electricity purse refunds the student');
  t.equal(await text(page, `${electricity} .amount`), '¥50.00', 'their ¥50 back');
  t.equal(await text(page, `${electricity} .direction`), 'Refund to the student', 'said in words');
  t.ok(await page.$('#result tr.settlement[data-purse="water"]'), 'the water purse is settled too');
  const settlements = (await app.http.inject({ method: 'GET', url: '/api/settlements?studentId=2026001', headers: admin })).json<{ items: { purse: string; direction: string; amountFen: number }[] }>().items;
  t.match(settlements.find((s) => s.purse === 'electricity'), { direction: 'refund', amountFen: 5000 }, 'the page shows what the server recorded');
  await screenshot(page, 'office-check-out-settled');

  await page.selectOption('select[data-locale-switch]', 'zh-CN');
  t.equal(await text(page, `${electricity} .direction`), '退还学生', 'the settlement is shown in Chinese');
  t.equal(await text(page, '#result-title'), '已退宿并结算', 'the result title too');
  await screenshot(page, 'office-check-out-settled-zh-CN');

  // The record: no room now, the stay and its settlements.
  await page.goto(`${url}/students.html?student=2026001`);
  await page.waitForSelector('#detail-stays tr[data-dormitory="T-1"]');
  t.equal(await text(page, '#detail-current'), '未入住', 'the record: no room now (the choice of language is kept)');
  t.match(await text(page, '#detail-stays tr[data-dormitory="T-1"]'), /退宿/, 'the stay ended by check-out');
  t.equal(await page.locator('#detail-settlements tr.settlement').count(), 2, 'one settlement per purse');

  // Search by part of the name and the college finds them in the list.
  await page.fill('#search-form [name=q]', '张');
  await page.fill('#search-form [name=college]', '计算机学院');
  await page.click('#search-form button[type=submit]');
  // The rows of this search (the table names the search it shows), not the list drawn when the page opened.
  await page.waitForSelector('#results[data-q="张"][data-college="计算机学院"][aria-busy=false] tr[data-student="2026001"]');
  // The test campus's own students may share the surname and the college: every row found must match both.
  const found = await page.locator('#results tbody tr').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).innerText));
  t.ok(found.length >= 1 && found.every((row) => row.includes('张') && row.includes('计算机学院')), `only students named 张… of 计算机学院 (${found.length} found)`);

  t.same(foreign, [], 'every request went to the server');
  t.same(errors, [], 'no page or console errors');
});
