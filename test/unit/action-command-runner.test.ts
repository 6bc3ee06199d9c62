import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ActionCommand, StepsResult } from '../../src/domain/message-actions.js';
import { shardOf } from '../../src/domain/shard-leases.js';
import { ActionCommandRunner, COMMAND_EXPIRY_MS } from '../../src/imap/action-commands.js';
import type { ActionCommandInbox, LeaseFence } from '../../src/ports/watcher.js';

const SHARDS = 4;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Commands kept in a list; `pendingReads` counts the shard reads, `claimedBy` who took what. */
class ListedCommands implements ActionCommandInbox {
  readonly commands: ActionCommand[] = [];
  readonly results = new Map<string, StepsResult>();
  readonly counts = new Map<number, number>();
  readonly claims: { id: string; taskId: string; fence: LeaseFence | undefined }[] = [];
  pendingReads = 0;
  refuseClaims = false;

  file(command: ActionCommand): void {
    this.commands.push(command);
    const shard = shardOf(command.message.account, SHARDS);
    this.counts.set(shard, (this.counts.get(shard) ?? 0) + 1);
  }
  async pending(shards: readonly number[]) {
    this.pendingReads += 1;
    return this.commands.filter(
      (c) => shards.includes(shardOf(c.message.account, SHARDS)) && !this.results.has(c.id),
    );
  }
  async claim(command: ActionCommand, taskId: string, fence: LeaseFence | undefined) {
    if (this.refuseClaims) return false;
    this.claims.push({ id: command.id, taskId, fence });
    return true;
  }
  async finish(command: ActionCommand, result: StepsResult) {
    this.results.set(command.id, result);
  }
}

function setUp() {
  let now = 1_000_000;
  const inbox = new ListedCommands();
  const held = new Set<string>();
  const acted: string[] = [];
  const runner = new ActionCommandRunner({
    inbox,
    filedCounts: () => new Map(inbox.counts),
    heldShards: () => Array.from({ length: SHARDS }, (_, shard) => shard),
    shardCount: SHARDS,
    lease: () => ({ epoch: 7 }),
    holds: (account) => held.has(account),
    act: async (message, action, requestId) => {
      acted.push(`${message.account} ${action.type} ${requestId}`);
      return { kind: 'done', requestId };
    },
    taskId: 'task-1',
    clock: { now: () => now },
    logger: silent,
  });
  const command = (account: string, id: string): ActionCommand => ({
    id,
    message: { account, mailbox: 'INBOX', uidValidity: '1', uid: 5 },
    steps: [
      { action: { type: 'add-flags', flags: ['$Ticketed'] }, requestId: `${id}_0` },
      { action: { type: 'move', to: 'Processed' }, requestId: `${id}_1` },
    ],
    tries: 1,
    filedAt: now,
  });
  const look = async () => {
    await runner.look();
    await runner.settled();
  };
  return { inbox, held, acted, command, look, advance: (ms: number) => (now += ms) };
}

describe('the action command runner (a watcher task)', () => {
  it('reads a shard only when its count moved, claims under the lease, runs the steps in order and stores the result', async () => {
    const { inbox, held, acted, command, look } = setUp();
    held.add('support');
    await look();
    assert.equal(inbox.pendingReads, 0, 'nothing filed: no read');
    inbox.file(command('support', 'after_evt_1'));
    await look();
    assert.deepEqual(acted, ['support add-flags after_evt_1_0', 'support move after_evt_1_1']);
    assert.deepEqual(inbox.claims, [{ id: 'after_evt_1', taskId: 'task-1', fence: { epoch: 7 } }]);
    assert.deepEqual(inbox.results.get('after_evt_1')?.outcomes.length, 2);
    await look();
    assert.equal(inbox.pendingReads, 1, 'the count did not move again: no second read');
  });

  it('leaves a command for an account not watched yet, reads its shard again every 5 s, and runs it once watched', async () => {
    const { inbox, held, acted, command, look, advance } = setUp();
    inbox.file(command('newcomer', 'request_a'));
    await look();
    assert.deepEqual(acted, []);
    assert.equal(inbox.claims.length, 0, 'not claimed: the task that watches it may take it');
    await look();
    assert.equal(inbox.pendingReads, 1, 'not read again within 5 s');
    held.add('newcomer');
    advance(5_000);
    await look();
    assert.deepEqual(acted, ['newcomer add-flags request_a_0', 'newcomer move request_a_1']);
  });

  it('closes a command no task ran within 10 minutes, unrun', async () => {
    const { inbox, acted, command, look, advance } = setUp();
    inbox.file(command('gone', 'request_old'));
    advance(COMMAND_EXPIRY_MS + 1);
    await look();
    assert.deepEqual(acted, []);
    assert.match(inbox.results.get('request_old')?.unreached ?? '', /within 10 minutes/);
  });

  it('runs nothing another task claimed', async () => {
    const { inbox, held, acted, command, look } = setUp();
    held.add('support');
    inbox.refuseClaims = true;
    inbox.file(command('support', 'request_b'));
    await look();
    assert.deepEqual(acted, []);
    assert.equal(inbox.results.size, 0);
  });
});
