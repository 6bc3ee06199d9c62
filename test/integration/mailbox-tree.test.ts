import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleMessage } from '../support/mail.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

async function watched(scenario: Scenario): Promise<string[]> {
  return Object.keys((await scenario.bridge.status()).accounts.support?.mailboxes ?? {}).sort();
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 150; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('the folder tree: mailbox events, and mailboxes watched by pattern', () => {
  let scenario: Scenario;
  const ofType = (type: string) => scenario.receiver.ofType(type).map((w) => w.body.data);

  before(async () => {
    scenario = await startScenario({ account: { mailboxes: ['*'] } });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('announces a new folder and watches it without a restart, since "*" matches it', async () => {
    const { appender, receiver } = scenario;
    assert.deepEqual(await watched(scenario), ['INBOX']);
    await appender.mailboxCreate('Projects');
    await receiver.waitUntil(() => ofType('mailbox.created').length === 1, 10_000, 'mailbox.created');
    assert.deepEqual(
      [ofType('mailbox.created')[0]?.mailbox, ofType('mailbox.created')[0]?.specialUse],
      ['Projects', null],
    );
    assert.match(ofType('mailbox.created')[0]?.uidValidity, /^\d+$/);
    await until('Projects watched', async () => (await watched(scenario)).includes('Projects'));
    await waitForIdle(scenario.bridge);
    await appender.append('Projects', simpleMessage('filed into a new folder'));
    await receiver.waitUntil(() => ofType('message.received').length === 1, 10_000, 'the message');
    assert.equal(ofType('message.received')[0]?.mailbox, 'Projects');
  });

  it('announces a rename as one event, and follows the folder to its new name', async () => {
    const { appender, receiver } = scenario;
    await appender.mailboxRename('Projects', 'Clients');
    await receiver.waitUntil(() => ofType('mailbox.renamed').length === 1, 10_000, 'mailbox.renamed');
    const renamed = ofType('mailbox.renamed')[0];
    assert.deepEqual([renamed?.previousMailbox, renamed?.mailbox], ['Projects', 'Clients']);
    assert.equal(
      renamed?.uidValidity,
      ofType('mailbox.created')[0]?.uidValidity,
      'same mailbox, same UIDVALIDITY',
    );
    assert.equal(ofType('mailbox.deleted').length, 0, 'not also a deletion');
    await until('Clients watched instead', async () => (await watched(scenario)).join() === 'Clients,INBOX');
  });

  it('announces a deleted folder and stops watching it', async () => {
    const { appender, receiver } = scenario;
    await appender.mailboxDelete('Clients');
    await receiver.waitUntil(() => ofType('mailbox.deleted').length === 1, 10_000, 'mailbox.deleted');
    assert.equal(ofType('mailbox.deleted')[0]?.mailbox, 'Clients');
    await until('Clients no longer watched', async () => (await watched(scenario)).join() === 'INBOX');
    assert.deepEqual(scenario.receiver.schemaViolations, []);
  });

  it('remembers the tree across a restart: changes made while stopped are announced, once', async () => {
    const { appender, receiver, bridge } = scenario;
    assert.equal(await bridge.kill('SIGTERM'), 0);
    await appender.mailboxCreate('Archive');
    await bridge.start();
    await receiver.waitUntil(() => ofType('mailbox.created').length === 2, 10_000, 'created while away');
    assert.equal(ofType('mailbox.created')[1]?.mailbox, 'Archive');
    await waitForIdle(bridge);
    assert.equal(new Set(receiver.accepted.map((w) => w.id)).size, receiver.accepted.length, 'none twice');
  });
});

describe('a special-use pattern', () => {
  let scenario: Scenario;
  before(async () => {
    scenario = await startScenario({ account: { mailboxes: ['\\Sent'] } });
    await scenario.bridge.start();
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('watches the Sent folder once it exists, and nothing else', async () => {
    const { appender, receiver } = scenario;
    await appender.mailboxCreate('Sent');
    await until('Sent watched', async () => (await watched(scenario)).join() === 'Sent');
    await waitForIdle(scenario.bridge);
    await appender.append('INBOX', simpleMessage('not watched'));
    await appender.append('Sent', simpleMessage('sent from another device'));
    await receiver.waitUntil(
      () => receiver.ofType('message.received').length === 1,
      10_000,
      'the sent message',
    );
    assert.equal(receiver.ofType('message.received')[0]?.body.data.mailbox, 'Sent');
  });
});
