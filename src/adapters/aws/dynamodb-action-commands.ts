import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ActionCommand, ActionStep, StepsResult } from '../../domain/message-actions.js';
import { shardOf } from '../../domain/shard-leases.js';
import type { ActionLog, ActionRecord } from '../../ports/pipeline.js';
import type { Clock } from '../../ports/services.js';
import type { ActionCommandInbox, ActionCommandOutbox, LeaseFence } from '../../ports/watcher.js';
import { COMMANDS_FILED, padded } from './dynamodb-account-changes.js';
import { isFailedCondition, queryAll, type StateTable, StateTableAdapter } from './dynamodb-documents.js';
import { TABLE_KEYS, TTL_ATTRIBUTE } from './state-table.js';

/** How long a command and its result are kept: the API waits seconds, a retry with the same id comes within minutes. */
const KEPT_MS = 24 * 60 * 60_000;

interface CommandItem {
  readonly pk: string;
  readonly sk: string;
  readonly id: string;
  readonly account: string;
  readonly mailbox: string;
  readonly uidValidity: string;
  readonly uid: number;
  readonly steps: readonly ActionStep[];
  readonly tries: number;
  readonly filedAt: number;
  readonly result?: StepsResult;
  readonly finishedAt?: number;
}

function commandOf(item: CommandItem): ActionCommand {
  return {
    id: item.id,
    message: { account: item.account, mailbox: item.mailbox, uidValidity: item.uidValidity, uid: item.uid },
    steps: item.steps,
    tries: item.tries,
    filedAt: item.filedAt,
  };
}

/**
 * Action commands in the state table, one item each under its account's shard (COMMANDS#<shard>). Filing one also
 * counts it on the shard's version item, which every watcher task already reads each refresh: the task holding the
 * shard queries the shard's commands only when that count moved, so waiting for commands costs no read of its own.
 * A claim carries the claimer's lease epoch for the shard: a task that lost the shard cannot take a command back
 * from its new holder, and the new holder can take over one a dead task claimed.
 */
export class DynamoDbActionCommands
  extends StateTableAdapter
  implements ActionCommandOutbox, ActionCommandInbox, ActionLog
{
  constructor(
    table: StateTable,
    private readonly shardCount: number,
    private readonly clock: Clock,
  ) {
    super(table);
  }

  private key(account: string, id: string) {
    return TABLE_KEYS.actionCommand(padded(shardOf(account, this.shardCount)), account, id);
  }

  async file(command: ActionCommand): Promise<void> {
    const { message } = command;
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...this.key(message.account, command.id),
            id: command.id,
            account: message.account,
            mailbox: message.mailbox,
            uidValidity: message.uidValidity,
            uid: message.uid,
            steps: command.steps,
            tries: command.tries,
            filedAt: command.filedAt,
            [TTL_ATTRIBUTE]: Math.ceil((command.filedAt + KEPT_MS) / 1000),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      // Filed before (a retried request): the count below is moved again, in case the first filer stopped short of it.
      if (!isFailedCondition(error)) throw error;
    }
    await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.accountVersion(padded(shardOf(message.account, this.shardCount))),
        UpdateExpression: 'ADD #filed :one',
        ExpressionAttributeNames: { '#filed': COMMANDS_FILED },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }

  async result(account: string, id: string): Promise<StepsResult | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({
        TableName: this.tableName,
        Key: this.key(account, id),
        ConsistentRead: true,
        ProjectionExpression: '#result',
        ExpressionAttributeNames: { '#result': 'result' },
      }),
    );
    return (Item as Pick<CommandItem, 'result'> | undefined)?.result;
  }

  async pending(shards: readonly number[]): Promise<readonly ActionCommand[]> {
    const items = (
      await Promise.all(
        shards.map((shard) =>
          queryAll<CommandItem>(this.documents, {
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            FilterExpression: 'attribute_not_exists(#result)',
            ExpressionAttributeNames: { '#result': 'result' },
            ExpressionAttributeValues: { ':pk': TABLE_KEYS.actionCommand(padded(shard), '', '').pk },
            // Filed, then counted: a read after the count saw it must see the command.
            ConsistentRead: true,
          }),
        ),
      )
    ).flat();
    return items.map(commandOf).sort((a, b) => a.filedAt - b.filedAt);
  }

  /**
   * The account's commands that ran, newest first: those kept (a day), read from its shard's partition by the
   * account's key prefix and ordered here (the sort key orders them by id).
   */
  async listActions(account: string, limit: number): Promise<ActionRecord[]> {
    const items = await queryAll<CommandItem>(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :account)',
      FilterExpression: 'attribute_exists(#result)',
      ExpressionAttributeNames: { '#result': 'result' },
      ExpressionAttributeValues: { ':pk': this.key(account, '').pk, ':account': `${account}#` },
    });
    return items
      .flatMap((item) =>
        item.result
          ? [{ command: commandOf(item), result: item.result, finishedAt: item.finishedAt ?? 0 }]
          : [],
      )
      .sort((a, b) => b.finishedAt - a.finishedAt)
      .slice(0, limit);
  }

  async claim(command: ActionCommand, taskId: string, fence: LeaseFence | undefined): Promise<boolean> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(command.message.account, command.id),
          UpdateExpression: 'SET claimedBy = :task, claimEpoch = :epoch',
          // Without leases one process owns everything: a claim left by its previous run is its own to take over.
          ConditionExpression: fence
            ? 'attribute_exists(pk) AND attribute_not_exists(#result) AND (attribute_not_exists(claimEpoch) OR claimEpoch <= :epoch)'
            : 'attribute_exists(pk) AND attribute_not_exists(#result)',
          ExpressionAttributeNames: { '#result': 'result' },
          ExpressionAttributeValues: { ':task': taskId, ':epoch': fence?.epoch ?? 0 },
        }),
      );
      return true;
    } catch (error) {
      if (isFailedCondition(error)) return false;
      throw error;
    }
  }

  async finish(command: ActionCommand, result: StepsResult, taskId: string): Promise<void> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(command.message.account, command.id),
          UpdateExpression: 'SET #result = :result, finishedAt = :now',
          ConditionExpression: 'claimedBy = :task',
          ExpressionAttributeNames: { '#result': 'result' },
          ExpressionAttributeValues: { ':result': result, ':task': taskId, ':now': this.clock.now() },
        }),
      );
    } catch (error) {
      // Claimed by the shard's new holder meanwhile: it runs the command again (its actions are idempotent).
      if (!isFailedCondition(error)) throw error;
    }
  }
}
