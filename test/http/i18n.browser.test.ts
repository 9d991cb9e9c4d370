import t from 'tap';
import { browserSkip as skip, collectErrors, collectForeignRequests, launchBrowser, screenshot, textOf, untranslatedWords } from '../helpers/browser.ts';
import { startLiveTestServer } from '../helpers/live-test-server.ts';

/**
 * public/i18n.js in real Chromium: the browser's language picks zh-CN or en, the switch changes
 * it and is remembered, and money, numbers and times are formatted in the locale and the campus
 * time zone. The student page is the page under test (the wall has its own test).
 */

t.test('i18n.js formats money, numbers and campus times in the locale', { skip }, async (t) => {
  const server = await startLiveTestServer(t, { dashboard: true });
  const browser = await launchBrowser(t);
  const page = await browser.newPage({ locale: 'en-US', timezoneId: 'America/Los_Angeles' });
  const errors = collectErrors(page);
  // `npm test` runs this file compiled by tsc (rewriteRelativeImportExtensions), which turns the
  // `import(url)` below into `import(__rewriteRelativeImportExtension(url))` with the helper defined
  // in this module, not in the page the function is sent to. The URL is absolute (nothing to rewrite),
  // so the page gets an identity of that name.
  await page.addInitScript('globalThis.__rewriteRelativeImportExtension = (path) => path;');
  await page.goto(`${server.url}/student.html`);
  const result = await page.evaluate(async (url) => {
    const i18n = await import(url);
    const out: Record<string, unknown> = {};
    out.detect = [i18n.detectLocale(['zh-TW']), i18n.detectLocale(['fr-FR', 'en-GB']), i18n.detectLocale(['fr']), i18n.detectLocale(['zh'])];
    i18n.setLocale('en', { persist: false });
    out.enMoney = [i18n.formatMoney(123456), i18n.formatMoney(-5), i18n.formatMoney(100, { signed: true }), i18n.formatMoney(9007199254740991)];
    out.enNumber = i18n.formatNumber(1234567.5, { maximumFractionDigits: 1 });
    out.enEnergy = i18n.formatEnergy(12345);
    // 1970-01-01T00:00Z: 08:00 on the campus (Asia/Shanghai by default), whatever the browser's zone.
    out.enShanghai = i18n.formatDateTime(0);
    out.dayShanghai = i18n.campusDay(Date.UTC(2026, 10, 30, 17, 0));
    out.badZone = i18n.setTimeZone('Mars/Olympus');
    out.zone = i18n.getTimeZone();
    i18n.setTimeZone('America/New_York');
    out.enNewYork = i18n.formatDateTime(0);
    out.dayNewYork = i18n.campusDay(Date.UTC(2026, 10, 30, 17, 0));
    i18n.setTimeZone('Asia/Shanghai');
    i18n.setLocale('zh-CN', { persist: false });
    out.zhMoney = [i18n.formatMoney(123456), i18n.formatMoney(-5)];
    out.zhDate = i18n.formatDateTime(Date.UTC(2026, 10, 30, 1, 2));
    out.zhDay = i18n.formatDay('2026-11-30');
    out.zhNumber = i18n.formatNumber(1234567.5, { maximumFractionDigits: 1 });
    out.lang = document.documentElement.lang;
    return out;
  }, '/i18n.js');
  t.same(result.detect, ['zh-CN', 'en', 'en', 'zh-CN'], 'any zh is zh-CN, the first known language wins, English otherwise');
  t.same(result.enMoney, ['¥1,234.56', '-¥0.05', '+¥1.00', '¥90,071,992,547,409.91'], 'fen to yuan exactly, even at 2^53-1');
  t.equal(result.enNumber, '1,234,567.5');
  t.equal(result.enEnergy, '12.35 kWh', 'Wh are shown as kWh');
  t.match(result.enShanghai, /01\/01\/1970.*08:00/, 'times are in the campus zone (UTC+8), not the browser’s (Los Angeles)');
  t.equal(result.dayShanghai, '2026-12-01', '17:00 UTC is already the next day on the campus');
  t.equal(result.badZone, false, 'an unknown zone is refused');
  t.equal(result.zone, 'Asia/Shanghai', 'and the campus zone kept');
  t.match(result.enNewYork, /12\/31\/1969.*19:00/, 'another campus zone moves the time');
  t.equal(result.dayNewYork, '2026-11-30');
  t.same(result.zhMoney, ['¥1,234.56', '-¥0.05'], 'money in zh-CN');
  t.match(result.zhDate, /^2026\/11\/30 09:02$/, 'a zh-CN date and time on the campus');
  t.equal(result.zhDay, '2026年11月30日', 'a calendar day in zh-CN');
  t.equal(result.zhNumber, '1,234,567.5');
  t.equal(result.lang, 'zh-CN', 'the document language follows the locale');
  t.same(errors, [], 'no page or console errors');
});

t.test('the student page follows the browser’s language, switches, and remembers the choice', { skip }, async (t) => {
  const server = await startLiveTestServer(t, { dashboard: true });
  const student = await server.student('A-103');
  const browser = await launchBrowser(t);
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const errors = collectErrors(page);
  const foreign = collectForeignRequests(page, server.url);

  await page.goto(`${server.url}/student.html`);
  t.equal(await textOf(page, '#login-form h1'), '我的宿舍', 'a Chinese browser gets the Chinese sign-in');
  t.equal(await textOf(page, '#login-form button[type=submit]'), '登录');
  t.same(await untranslatedWords(page, []), [], 'no English left on the sign-in form');
  await page.fill('#username', student.username);
  await page.fill('#password', student.password);
  await page.click('#login-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#room-title')?.textContent === '103 室');
  await page.waitForFunction(() => document.querySelector('#room-state')?.textContent === '正常');
  t.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
  t.equal(await textOf(page, '#balance-water'), '¥20.00');
  t.equal(await textOf(page, '#circuits li[data-circuit="lighting"] .circuit-name'), '照明');
  t.equal(await textOf(page, '#ledger .ledger-entry .muted.small'), '水费', 'purse names in Chinese');
  const detail = (await (await fetch(`${server.url}/api/dormitories/A-103`, { headers: { authorization: `Bearer ${student.token}` } })).json()) as { id: string; buildingName: string };
  t.same(await untranslatedWords(page, [detail.id, detail.buildingName]), [], 'every word of the room page is Chinese (units and names from the database aside)');
  await screenshot(page, 'student-zh-CN', { fullPage: true });

  // The switch: English at once, no reload, remembered over a reload despite the Chinese browser.
  await page.selectOption('#room-view select[data-locale-switch]', 'en');
  await page.waitForFunction(() => document.querySelector('#room-title')?.textContent === 'Room 103');
  t.equal(await textOf(page, '#room-state'), 'Normal');
  t.equal(await textOf(page, '#circuits li[data-circuit="lighting"] .circuit-name'), 'Lighting');
  t.equal(await page.evaluate(() => document.title), 'My room · campus prepaid');
  t.equal(await page.evaluate(() => window.localStorage.getItem('campus-prepaid.locale')), 'en', 'the choice is stored');
  await page.reload();
  await page.waitForFunction(() => document.querySelector('#room-title')?.textContent === 'Room 103');
  t.equal(await page.inputValue('#room-view select[data-locale-switch]'), 'en', 'the switch shows the stored choice after a reload');
  await screenshot(page, 'student-en', { fullPage: true });
  t.same(errors, [], 'no page or console errors');
  t.same(foreign, [], 'every request went to the server');
});
