import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Test } from 'tap';

/**
 * Real headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by playwright-core
 * (no browser is ever downloaded), screenshots kept in test-artifacts/ (ignored by git, kept by CI),
 * and the checks every page owes: no page or console errors, no request outside the server.
 */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A tap `skip` value: false where Chromium is installed, else the reason. */
export const browserSkip: false | string = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install -y chromium); the browser tests need Debian's Chromium`;

/** The folder screenshots go to: test-artifacts/ at the repository root, or $TEST_ARTIFACTS_DIR. */
export const ARTIFACTS_DIR = resolve(process.env['TEST_ARTIFACTS_DIR'] ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-artifacts'));

/** How long a page's waits (waitForSelector, waitForFunction, click…) may take before they fail. */
export const BROWSER_WAIT_MS = 120_000;

/** Launches Chromium for one test; closed at the test's teardown. */
export async function launchBrowser(t: Test): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  // Every page's waits get BROWSER_WAIT_MS instead of Playwright's 30 s: in CI the page, the server
  // and Chromium share two cores with a second suite, typecheck and lint, and a page that reacts
  // correctly can take longer than 30 s to do so. A wait ends as soon as its condition holds.
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const context = await newContext(...args);
    context.setDefaultTimeout(BROWSER_WAIT_MS);
    return context;
  };
  const newPage = browser.newPage.bind(browser);
  browser.newPage = async (...args) => {
    const page = await newPage(...args);
    page.context().setDefaultTimeout(BROWSER_WAIT_MS);
    return page;
  };
  return browser;
}

/** Saves a PNG of the page as test-artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`screenshot name ${JSON.stringify(name)}: letters, digits, '.', '-' and '_' only`);
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: options.fullPage ?? false });
  return path;
}

/**
 * Page errors and console errors as they happen. `ignore` drops console messages that a test
 * expects (e.g. /status of 404/ for an endpoint the test server does not register).
 */
export function collectErrors(page: Page, ignore: RegExp[] = []): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !ignore.some((pattern) => pattern.test(message.text()))) errors.push(`console: ${message.text()}`);
  });
  return errors;
}

/**
 * Every request the page makes whose origin is not `origin` (http and ws alike; data: and blob:
 * URLs are in-page). A page must call nothing outside its server: assert the list is empty.
 */
export function collectForeignRequests(page: Page, origin: string): string[] {
  const allowed = new Set([new URL(origin).origin, new URL(origin.replace(/^http/, 'ws')).origin]);
  const foreign: string[] = [];
  const check = (url: string) => {
    if (/^(data|blob|about):/.test(url)) return;
    if (!allowed.has(new URL(url).origin)) foreign.push(url);
  };
  page.on('request', (request) => check(request.url()));
  page.on('websocket', (socket) => check(socket.url()));
  return foreign;
}

/** The trimmed text content of the first element matching the selector ('' when it has none). */
export async function textOf(page: Page, selector: string): Promise<string> {
  return ((await page.textContent(selector)) ?? '').trim();
}

/**
 * Latin words left on a page shown in Chinese (English that was not translated), minus units,
 * the language switch's own 'English' and `data`: names the database holds (a room id, a
 * building's name), which are not the page's to translate.
 */
export async function untranslatedWords(page: Page, data: readonly string[]): Promise<string[]> {
  const text = data.reduce((rest, name) => rest.replaceAll(name, ''), await page.evaluate(() => document.body.innerText));
  return (text.match(/[A-Za-z]{2,}/g) ?? []).filter((word) => !['kWh', 'kW', 'English'].includes(word));
}
