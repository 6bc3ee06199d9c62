// The dashboard in AWS mode: the management API function behind a local server that turns each request into the
// event API Gateway (HTTP API, payload 2.0) sends, in Debian's headless Chromium, over the emulators, the Secrets
// Manager stand-in, Dovecot and verifying receivers. The accounts' status is what the watcher task reported to
// DynamoDB. API Gateway and Lambda cannot run here.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { type ApiHandler, apiFunction } from '../../src/compose/aws/api-function.js';
import {
  type ApiStack,
  dovecotAccount,
  invokeApi,
  serveAsHttpApi,
  startApiStack,
} from '../support/aws-api.js';
import { ARTIFACTS, assertLinkRefused, cellTexts, launchBrowser } from '../support/browser.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';

describe('the dashboard in AWS mode (served by the API function, in a real browser)', () => {
  let dovecot: DovecotServer;
  let stack: ApiStack;
  let handler: ApiHandler;
  let served: { url: string; close: () => Promise<void> };
  let browser: Browser;
  let page: Page;
  let token: string;
  const helpdesk = new WebhookReceiver(newWebhookSecret());
  const flaky = new WebhookReceiver(newWebhookSecret());
  let refusing = true;

  before(async () => {
    flaky.respond = () => (refusing ? 400 : 200);
    dovecot = await startDovecot([{ name: 'support', password: 'support-pw' }]);
    stack = await startApiStack({
      bucket: 'idlehook-dashboard',
      prefix: 'idlehook/DashboardTest/',
      environment: () => ({ IDLEHOOK_DASHBOARD_MESSAGE_DETAILS: 'true' }),
    });
    handler = apiFunction(stack.adapters(), stack.env);
    served = await serveAsHttpApi(handler);
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
  });

  after(async () => {
    await browser?.close();
    await served?.close();
    await stack?.stop();
    await helpdesk.close();
    await flaky.close();
    await dovecot?.stop();
  });

  it('serves the page to anyone, and its data to nobody before a token exists', async () => {
    const pageResponse = await fetch(`${served.url}/dashboard`);
    assert.equal(pageResponse.status, 200);
    assert.match(pageResponse.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    const state = await fetch(`${served.url}/dashboard/state`, { headers: { 'x-idlehook-dashboard': '1' } });
    assert.equal(state.status, 401, 'on the internet, no token is no access, even with no token made yet');
    await page.goto(`${served.url}/dashboard`);
    await page.waitForSelector('#login', { visible: true });
    await page.waitForSelector('#views', { hidden: true });
  });

  it('opens with a token and shows the account as the watcher task reported it', async () => {
    token = (await stack.adapters().apiTokens.create('dashboard', 'full')).token;
    const call = (method: string, path: string, body: unknown) =>
      invokeApi(handler, method, path, { token, body });
    for (const [id, receiver] of [
      ['helpdesk', helpdesk],
      ['flaky', flaky],
    ] as const) {
      const made = await call('POST', '/v1/subscriptions', {
        id,
        url: await receiver.listen(),
        secret: receiver.secret,
        events: ['message.received'],
      });
      assert.equal(made.status, 201, made.text);
    }
    await stack.restartFunctions();
    const account = await call(
      'POST',
      '/v1/accounts',
      dovecotAccount(dovecot, 'support', 'support', 'support-pw'),
    );
    assert.equal(account.status, 201, account.text);

    await page.type('#token', token);
    await page.click('#login button');
    await page.waitForSelector('#views', { visible: true });
    await page.waitForFunction(
      "[...document.querySelectorAll('#accounts tbody td')].some((td) => td.textContent === 'idle')",
      { timeout: 30_000 },
    );
    const cells = await cellTexts(page, 'accounts');
    assert.deepEqual(cells.slice(0, 3), ['support', 'INBOX', 'idle']);
    assert.notEqual(cells.at(-1), 'live', 'AWS mode shows when the status was reported');
    assert.notEqual(cells.at(-1), '');
    // Counted from the shards' counts and the watcher task's tally.
    assert.equal(await page.$eval('#account-counts', (p) => p.textContent), '1 account, 0 failing.');
    await page.screenshot({ path: join(ARTIFACTS, 'aws-overview.png'), fullPage: true });
  });

  it('shows a delivered message with its subject (read from S3), and replays a dead letter on a click', async () => {
    const appender = await connectAppender(dovecot, 'support', 'support-pw');
    await appender.append('INBOX', simpleMessage('Invoice for Ada', 'the body text 4711'));
    await appender.logout();
    await page.waitForSelector('#events tbody tr[data-outcome="delivered"] .subject', { timeout: 30_000 });
    assert.equal(await page.$eval('#events .subject', (e) => e.textContent), 'Invoice for Ada');
    assert.doesNotMatch(String(await page.evaluate('document.body.innerText')), /4711/, 'no body');
    await page.waitForFunction(
      "[...document.querySelectorAll('#accounts tbody td')][3]?.textContent === '1'",
      {
        timeout: 10_000,
      },
    );

    const button = await page.waitForSelector('#dead-letters button[data-replay-event]', { timeout: 30_000 });
    assert.ok(button);
    const eventId = await button.evaluate((b) => b.getAttribute('data-replay-event'));
    await page.screenshot({ path: join(ARTIFACTS, 'aws-dead-letter.png'), fullPage: true });
    refusing = false;
    await button.click();
    await flaky.waitUntil(() => flaky.accepted.length === 1, 10_000, 'the replayed event at the receiver');
    assert.equal(flaky.accepted[0]?.id, eventId, 'replayed under its original webhook-id');
    await page.waitForFunction("document.getElementById('replayed').textContent.includes('1 delivered')");
  });

  it('opens from a one-time login link (the code kept in DynamoDB), and refuses it a second time', async () => {
    // What `idlehook dashboard --stack NAME` makes, with the operator's credentials.
    const code = await stack.adapters().apiTokens.createLoginCode('read', Date.now() + 600_000);
    const link = `${served.url}/dashboard#login=${code}`;
    const fresh = await browser.newPage();
    try {
      await fresh.goto(link);
      await fresh.waitForSelector('#views', { visible: true });
      assert.equal(fresh.url(), `${served.url}/dashboard`, 'the code is taken out of the address bar');
      const session = String(await fresh.evaluate("sessionStorage.getItem('idlehook-token')"));
      const read = await invokeApi(handler, 'GET', '/v1/subscriptions', { token: session });
      assert.equal(read.status, 200, 'the token the link gave works on the API too');
      const write = await invokeApi(handler, 'POST', '/v1/subscriptions/flaky/enable', { token: session });
      assert.equal(write.status, 403, 'with the scope the link was made for');
    } finally {
      await fresh.close();
    }
    await assertLinkRefused(browser, link);
  });
});
