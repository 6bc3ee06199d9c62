import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDbAccountRepository } from '../../src/adapters/aws/dynamodb-account-repository.js';
import { stateTable } from '../../src/adapters/aws/dynamodb-documents.js';
import type { SecretResolver } from '../../src/ports/services.js';
import { startDynamoDb } from '../support/aws-emulators.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const arnOf = (id: string) => `arn:aws:secretsmanager:us-east-1:000000000000:secret:idlehook/accounts/${id}`;

describe('the DynamoDB account repository, on dynalite', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  before(async () => {
    dynamo = await startDynamoDb();
  });
  after(async () => {
    await dynamo.stop();
  });

  it("reads the credentials of the selected accounts only: a watcher task never holds another task's", async () => {
    // Secrets Manager cannot run here: the resolver port is answered in memory and counts what is asked.
    const asked: string[] = [];
    const secrets: SecretResolver = {
      resolve: async (arn) => {
        asked.push(arn);
        return `password of ${arn.split('/').pop()}`;
      },
    };
    const repository = new DynamoDbAccountRepository(
      stateTable(dynamo.client, await dynamo.createTable()),
      { secrets, sealer: undefined },
      quiet,
      { shardCount: 256, clock: { now: () => Date.now() } },
    );
    for (const id of ['alpha', 'bravo', 'charlie', 'delta'])
      await repository.put({
        id,
        host: 'imap.example.com',
        port: 993,
        security: 'tls',
        user: id,
        passwordSecretArn: arnOf(id),
        mailboxes: ['INBOX'],
        initialSync: 'new',
      });

    let offered: readonly string[] = [];
    const accounts = await repository.list(async (ids) => {
      offered = ids;
      return ids.filter((id) => id === 'bravo' || id === 'delta');
    });

    assert.deepEqual([...offered].sort(), ['alpha', 'bravo', 'charlie', 'delta'], 'every id is offered');
    assert.deepEqual(
      accounts.map((a) => a.id),
      ['bravo', 'delta'],
    );
    assert.deepEqual(asked.sort(), [arnOf('bravo'), arnOf('delta')]);
    assert.deepEqual(
      accounts.map((a) => a.auth),
      [
        { kind: 'password', password: 'password of bravo' },
        { kind: 'password', password: 'password of delta' },
      ],
    );
  });
});
