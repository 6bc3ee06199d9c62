// The dashboard's browser tests: Debian's chromium, headless, driven by puppeteer-core (nothing downloaded).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** Screenshots of the main views, kept for a person to look at (the directory is git-ignored). */
export const ARTIFACTS = resolve(import.meta.dirname, '../../artifacts/dashboard');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchBrowser(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  // Root in a container has no user namespaces for Chromium's sandbox.
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

/** A login link used already, opened in a tab of its own (its own session storage): the login form, and why. */
export async function assertLinkRefused(browser: Browser, link: string): Promise<void> {
  const page = await browser.newPage();
  try {
    await page.goto(link);
    await page.waitForSelector('#login', { visible: true });
    assert.match(
      String(await page.$eval('#linkrefused', (node) => node.textContent)),
      /used already or has expired/,
    );
  } finally {
    await page.close();
  }
}

/** The text of every cell of a table's body, row after row. */
export function cellTexts(page: Page, table: string): Promise<string[]> {
  return page.$$eval(`#${table} tbody td`, (cells) => cells.map((c) => c.textContent ?? ''));
}
