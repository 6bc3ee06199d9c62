import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'puppeteer-core';
import { ARTIFACTS, assertLinkRefused, cellTexts, launchBrowser } from '../support/browser.js';
import { simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

describe('the dashboard, in a real browser (Debian chromium, headless)', () => {
  let scenario: Scenario;
  let browser: Browser;
  let page: Page;
  const secret = newWebhookSecret();
  const flaky = new WebhookReceiver(secret);
  let refusing = true;

  before(async () => {
    flaky.respond = () => (refusing ? 503 : 200);
    scenario = await startScenario({
      secret,
      extraSubscriptions: [
        {
          id: 'flaky',
          url: await flaky.listen(),
          accounts: ['support'],
          events: ['message.received'],
          filter: { data: { autoSubmitted: [false] } },
        },
      ],
    });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge, ['support']);
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
  });

  after(async () => {
    await browser?.close();
    await scenario?.dispose();
    await flaky.close();
  });

  it('loads with the mailbox in IDLE', async () => {
    await page.goto(`${scenario.bridge.url}/dashboard`);
    await page.waitForFunction(
      "[...document.querySelectorAll('#accounts tbody td')].some((td) => td.textContent === 'idle')",
    );
    await page.waitForSelector('#login', { hidden: true }); // no token form while no token exists
    const accounts = await cellTexts(page, 'accounts');
    assert.deepEqual(accounts.slice(0, 3), ['support', 'INBOX', 'idle']);
    assert.equal(await page.$eval('#account-counts', (p) => p.textContent), '1 account, 0 failing.');
    const subscriptions = await cellTexts(page, 'subscriptions');
    assert.deepEqual(subscriptions.filter((t) => t === 'enabled').length, 2);
    assert.ok(subscriptions.includes('every event type; of every account'), subscriptions.join(' | '));
    assert.ok(
      subscriptions.includes('message.received; of support; matching {"data":{"autoSubmitted":[false]}}'),
      'what a subscription receives: its events, accounts and filter',
    );
    await page.screenshot({ path: join(ARTIFACTS, 'overview.png'), fullPage: true });
  });

  it('shows a message appended to Dovecot as delivered, without its subject or body', async () => {
    await scenario.appender.append('INBOX', simpleMessage('Quarterly numbers for Ada', 'the body text 4711'));
    await page.waitForSelector('#events tbody tr[data-outcome="delivered"]', { timeout: 15_000 });
    const delivered = await page.$$eval('#events tbody tr[data-outcome="delivered"] td', (cells) =>
      cells.map((c) => c.textContent ?? ''),
    );
    assert.match(delivered[0] ?? '', /^evt_[0-9a-f]{32}$/);
    assert.equal(delivered[1], 'message.received');
    assert.equal(delivered[2], 'helpdesk');
    assert.match(delivered[3] ?? '', /^HTTP 200, \d+ ms/);
    const text = String(await page.evaluate('document.body.innerText'));
    assert.doesNotMatch(text, /Quarterly numbers|Ada|4711/, 'no subject, address or body on the page');
    await page.screenshot({ path: join(ARTIFACTS, 'delivered.png'), fullPage: true });
  });

  it('replays a dead letter when its button is clicked, and the receiver gets it', async () => {
    const button = await page.waitForSelector('#dead-letters button[data-replay-event]', { timeout: 20_000 });
    assert.ok(button);
    const eventId = await button.evaluate((b) => b.getAttribute('data-replay-event'));
    assert.equal(flaky.accepted.length, 0);
    await page.screenshot({ path: join(ARTIFACTS, 'dead-letter.png'), fullPage: true });
    refusing = false;
    await button.click();
    await flaky.waitUntil(() => flaky.accepted.length === 1, 10_000, 'the replayed event at the receiver');
    assert.equal(flaky.accepted[0]?.id, eventId, 'replayed under its original webhook-id');
    await page.waitForFunction("document.getElementById('replayed').textContent.includes('1 delivered')");
    await page.waitForFunction("document.querySelector('#dead-letters button[data-replay-event]') === null");
  });

  it('fits a phone screen: the page never scrolls sideways, only its tables do', async () => {
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true });
    await page.reload();
    await page.waitForSelector('#events tbody tr[data-outcome]');
    const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
    assert.ok(width <= 390, `page is ${width} px wide`);
    await page.screenshot({ path: join(ARTIFACTS, 'phone.png'), fullPage: true });
  });

  it('asks for an API token once one exists, and refuses requests without its header or from foreign hosts', async () => {
    const made = await scenario.bridge.cli('tokens', 'create', '--name', 'dashboard');
    const token = /ihk_\S+/.exec(made.stdout)?.[0];
    assert.ok(token, made.stdout + made.stderr);
    await page.setViewport({ width: 1280, height: 900 });
    await page.evaluate('sessionStorage.clear()');
    await page.reload();
    await page.waitForSelector('#login', { visible: true });
    await page.waitForSelector('#views', { hidden: true });
    assert.deepEqual(await cellTexts(page, 'accounts'), [], 'no data before the token');
    await page.type('#token', token);
    await page.click('#login button');
    await page.waitForSelector('#views', { visible: true });
    await page.waitForSelector('#login', { hidden: true });
    assert.deepEqual((await cellTexts(page, 'accounts')).slice(0, 3), ['support', 'INBOX', 'idle']);

    const state = `${scenario.bridge.url}/dashboard/state`;
    assert.equal((await fetch(state, { headers: { authorization: `Bearer ${token}` } })).status, 403);
    assert.equal((await fetch(state, { headers: { 'x-idlehook-dashboard': '1' } })).status, 401);
    const replay = await fetch(`${scenario.bridge.url}/dashboard/replay`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'x-idlehook-dashboard': '1',
        'content-type': 'text/plain',
      },
      body: '{"subscriptionId":"flaky"}',
    });
    assert.equal(replay.status, 415, 'a form post from another site cannot replay');
    const { port } = new URL(scenario.bridge.url);
    const foreign = await new Promise<number | undefined>((done, fail) => {
      request({ host: '127.0.0.1', port, path: '/dashboard', headers: { host: 'evil.example' } }, (r) => {
        r.resume();
        done(r.statusCode);
      })
        .on('error', fail)
        .end();
    });
    assert.equal(foreign, 421);
    const page2 = await fetch(`${scenario.bridge.url}/dashboard`);
    assert.match(page2.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  });

  it('opens from a one-time login link printed by the CLI, and refuses the link a second time', async () => {
    const made = await scenario.bridge.cli('dashboard', '--scope', 'read');
    assert.equal(made.code, 0, made.stderr);
    const link = made.stdout.trim();
    assert.match(link, new RegExp(`^${scenario.bridge.url}/dashboard#login=ihl_[\\w-]+$`));
    const fresh = await browser.newPage();
    try {
      await fresh.goto(link);
      await fresh.waitForSelector('#views', { visible: true });
      assert.deepEqual((await cellTexts(fresh, 'accounts')).slice(0, 3), ['support', 'INBOX', 'idle']);
      assert.equal(
        fresh.url(),
        `${scenario.bridge.url}/dashboard`,
        'the code is taken out of the address bar',
      );
      const token = String(await fresh.evaluate("sessionStorage.getItem('idlehook-token')"));
      assert.match(token, /^ihk_/);
      const retry = await fetch(`${scenario.bridge.url}/dashboard/retry-now`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'x-idlehook-dashboard': '1',
          'content-type': 'application/json',
        },
        body: '{"subscriptionId":"flaky"}',
      });
      assert.equal(retry.status, 403, 'the link was made for a read-only token');
    } finally {
      await fresh.close();
    }
    await assertLinkRefused(browser, link);
    const listed = await scenario.bridge.cli('tokens', 'list');
    assert.match(listed.stdout, /dashboard login {2}read .* expires \d{4}-/);
  });
});

describe('the dashboard with "dashboard.showMessageDetails" turned on', () => {
  let scenario: Scenario;
  let browser: Browser;

  before(async () => {
    scenario = await startScenario({ config: { dashboard: { showMessageDetails: true } } });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge, ['support']);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await scenario?.dispose();
  });

  it("shows each message's subject and sender next to its deliveries, still never its body", async () => {
    const page = await browser.newPage();
    await page.goto(`${scenario.bridge.url}/dashboard`);
    await scenario.appender.append(
      'INBOX',
      simpleMessage('=?UTF-8?Q?Quarterly_numbers_f=C3=BCr_Ada?=', 'the body text 4711'),
    );
    await page.waitForSelector('#events tbody tr[data-outcome="delivered"] .subject', { timeout: 15_000 });
    assert.equal(await page.$eval('#events .subject', (e) => e.textContent), 'Quarterly numbers für Ada');
    assert.match((await page.$eval('#events .from', (e) => e.textContent)) ?? '', /@/);
    assert.doesNotMatch(String(await page.evaluate('document.body.innerText')), /4711/, 'no body');
    await page.screenshot({ path: join(ARTIFACTS, 'message-details.png'), fullPage: true });
  });
});

describe('the dashboard with markup in a subject, a sender and a folder name', () => {
  let scenario: Scenario;
  let browser: Browser;
  const folder = 'Leads <img src=y onerror=window.__xss=3>';
  const subject = '<img src=x onerror="window.__xss=1"> Quote';
  const sender = '<script>window.__xss=2</script>';

  before(async () => {
    scenario = await startScenario({
      config: { dashboard: { showMessageDetails: true } },
      account: { mailboxes: ['*'] },
    });
    await scenario.appender.mailboxCreate(folder);
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge, ['support']);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await scenario?.dispose();
  });

  it('shows them as text: nothing in them runs', async () => {
    const page = await browser.newPage();
    await page.goto(`${scenario.bridge.url}/dashboard`);
    await scenario.appender.append(
      folder,
      `From: "${sender}" <attacker@example.com>\r\nTo: support@example.com\r\nSubject: ${subject}\r\n` +
        'Message-ID: <xss@example.com>\r\nContent-Type: text/plain\r\n\r\nhello\r\n',
    );
    await page.waitForSelector('#events tbody tr[data-outcome="delivered"] .subject', { timeout: 15_000 });
    await page.waitForFunction(`document.body.innerText.includes(${JSON.stringify(folder)})`, {
      timeout: 15_000,
    });
    assert.equal(await page.evaluate('window.__xss'), undefined, 'no injected code ran');
    assert.equal(await page.$eval('#events .subject', (e) => e.textContent), subject);
    assert.match((await page.$eval('#events .from', (e) => e.textContent)) ?? '', /<script>/);
    assert.equal(await page.$$eval('#events img, #events script, #accounts img', (found) => found.length), 0);
    await page.screenshot({ path: join(ARTIFACTS, 'markup-as-text.png'), fullPage: true });
  });
});

describe('the dashboard with a delivery being retried', () => {
  let scenario: Scenario;
  let browser: Browser;
  let page: Page;
  const secret = newWebhookSecret();
  const down = new WebhookReceiver(secret);
  let refusing = true;

  before(async () => {
    down.respond = () => (refusing ? 503 : 200);
    scenario = await startScenario({
      secret,
      // The first retry waits 300 s, as the default schedule's second does.
      config: { delivery: { retryScheduleSeconds: [300, 300] } },
      extraSubscriptions: [{ id: 'down', url: await down.listen(), events: ['message.received'] }],
    });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge, ['support']);
    browser = await launchBrowser();
    page = await browser.newPage();
  });
  after(async () => {
    await browser?.close();
    await scenario?.dispose();
    await down.close();
  });

  it('shows it with its next attempt, and its Retry now button sends it at once', async () => {
    await scenario.appender.append('INBOX', simpleMessage('Retried from the dashboard'));
    await down.waitUntil(() => down.attempts.length > 0, 15_000, 'the first (refused) attempt');
    await page.goto(`${scenario.bridge.url}/dashboard`);
    const button = await page.waitForSelector('#subscriptions button[data-retry-subscription="down"]', {
      timeout: 15_000,
    });
    const row = await page.$$eval('#subscriptions tbody tr', (rows) =>
      rows.map((r) => r.textContent ?? '').find((text) => text.startsWith('down')),
    );
    assert.match(row ?? '', /1, next /, 'one delivery, with when its next attempt is due');
    refusing = false;
    await button?.click();
    await down.waitUntil(() => down.accepted.length === 1, 10_000, 'the delivery, retried now');
    await page.waitForFunction("document.getElementById('replayed').textContent.includes('Retrying 1 now')");
    await page.waitForFunction(
      "document.querySelector('#subscriptions button[data-retry-subscription]') === null",
    );
  });
});
