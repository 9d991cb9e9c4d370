import type { Browser, Page } from 'playwright-core';
import { DEMO_CAMPUS_SHAPE } from '../../src/services/demo-campus.seed.ts';
import { collectErrors, collectForeignRequests } from './browser.ts';

/** One building, one floor, one room (simulated, standing still): the office pages need the campus, not its traffic. */
export const OFFICE_CAMPUS_SHAPE = { ...DEMO_CAMPUS_SHAPE, floors: 1, roomsPerFloor: 1 };

/**
 * A page signed in as the bearer of `authorization` (the session the sign-in form would store,
 * put in the tab's sessionStorage before any script runs), with its errors and foreign requests
 * collected. The sign-in form itself is tested in dashboard.browser.test.ts.
 */
export async function officePage(
  browser: Browser,
  url: string,
  session: { authorization: string; role: string; username: string },
  options: { locale?: string; viewport?: { width: number; height: number } } = {},
): Promise<{ page: Page; errors: string[]; foreign: string[] }> {
  const page = await browser.newPage({ viewport: options.viewport ?? { width: 1280, height: 900 }, locale: options.locale ?? 'en-US' });
  const stored = JSON.stringify({ token: session.authorization.replace(/^Bearer /, ''), role: session.role, username: session.username });
  await page.addInitScript((value) => window.sessionStorage.setItem('campus-prepaid.session', value), stored);
  // Refusals the tests provoke on purpose (a duplicate, an unknown room) are logged by Chromium as failed loads.
  const errors = collectErrors(page, [/status of 4\d\d/]);
  const foreign = collectForeignRequests(page, url);
  return { page, errors, foreign };
}
