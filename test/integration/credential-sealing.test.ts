import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { wrappingKeyContext } from '../../src/adapters/aws/credential-context.js';
import { stateTable } from '../../src/adapters/aws/dynamodb-documents.js';
import { KmsCredentialSealer } from '../../src/adapters/aws/kms-credential-sealer.js';
import { SealedOAuth2TokenStore } from '../../src/adapters/aws/sealed-oauth2-token-store.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import type { StoredOAuth2Tokens } from '../../src/ports/watcher.js';
import { startDynamoDb } from '../support/aws-emulators.js';
import { type KmsStandIn, startKms } from '../support/kms-standin.js';

describe('credentials sealed under the stack KMS key (Encryption SDK, one wrapping key per stack)', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let kms: KmsStandIn;
  let tableName: string;
  const sealer = (stack = 'Mail') =>
    new KmsCredentialSealer({
      kms: kms.client(),
      keyId: kms.keyArn,
      stack,
      table: stateTable(dynamo.client, tableName),
      clock: systemClock,
    });

  before(async () => {
    dynamo = await startDynamoDb();
    kms = await startKms();
    tableName = await dynamo.createTable();
  });
  after(async () => {
    await kms.close();
    await dynamo.stop();
  });

  it('the KMS stand-in refuses a Decrypt under another encryption context, as KMS does', async () => {
    const client = kms.client();
    const { CiphertextBlob } = await client.send(
      new EncryptCommand({
        KeyId: kms.keyArn,
        Plaintext: Buffer.from('x'),
        EncryptionContext: { 'idlehook:stack': 'A' },
      }),
    );
    await assert.rejects(
      client.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { 'idlehook:stack': 'B' } })),
      { name: 'InvalidCiphertextException' },
    );
    const opened = await client.send(
      new DecryptCommand({ CiphertextBlob, EncryptionContext: { 'idlehook:stack': 'A' } }),
    );
    assert.equal(Buffer.from(opened.Plaintext ?? []).toString(), 'x');
  });

  it('seals and opens 200 accounts in two processes with at most two KMS calls each, not one per account', async () => {
    kms.calls.length = 0;
    // Two processes starting together (a watcher task and the API): both race to create the key; one wins.
    const [api, watcher] = [sealer(), sealer()];
    const sealed = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 ? api : watcher).seal(`password ${i}`, { kind: 'account', id: `account-${i}` }),
      ),
    );
    for (const [i, value] of sealed.entries()) {
      assert.ok(
        !value.includes(`password ${i}`) && !value.includes(Buffer.from(`password ${i}`).toString('base64')),
      );
      assert.equal(await watcher.open(value, { kind: 'account', id: `account-${i}` }), `password ${i}`);
      assert.equal(await api.open(value, { kind: 'account', id: `account-${i}` }), `password ${i}`);
    }
    const generated = kms.calls.filter((c) => c.operation === 'GenerateDataKey').length;
    const decrypted = kms.calls.filter((c) => c.operation === 'Decrypt').length;
    assert.ok(
      generated >= 1 && generated <= 2,
      `${generated} GenerateDataKey (at most one per racing process)`,
    );
    // Each process: its GenerateDataKey, or (having lost the race to store one) a Decrypt of the winner's.
    assert.ok(generated + decrypted <= 3, `${generated + decrypted} KMS calls for 400 opens and 200 seals`);
    for (const call of kms.calls) assert.deepEqual(call.context, wrappingKeyContext('Mail'));
    // A third process, later: one Decrypt, no new key.
    kms.calls.length = 0;
    assert.equal(await sealer().open(sealed[7] ?? '', { kind: 'account', id: 'account-7' }), 'password 7');
    assert.deepEqual(
      kms.calls.map((c) => c.operation),
      ['Decrypt'],
    );
  });

  it("refuses a value copied into another account's item, another kind's, or tampered with", async () => {
    const one = sealer();
    const sealed = await one.seal('secret', { kind: 'account', id: 'alice' });
    await assert.rejects(one.open(sealed, { kind: 'account', id: 'mallory' }), /sealed for another id/);
    await assert.rejects(one.open(sealed, { kind: 'oauth2-tokens', id: 'alice' }), /sealed for another kind/);
    const bytes = Buffer.from(sealed.slice('esdk1:'.length), 'base64');
    bytes[bytes.length - 40] = (bytes[bytes.length - 40] ?? 0) ^ 1;
    await assert.rejects(one.open(`esdk1:${bytes.toString('base64')}`, { kind: 'account', id: 'alice' }));
  });

  it('keeps rotated OAuth2 tokens sealed in the table, reading ones saved in Secrets Manager before', async () => {
    const before: StoredOAuth2Tokens = {
      configuredTokenHash: 'h',
      refreshToken: 'rt-old',
      accessToken: 'at-old',
      expiresAt: 1,
    };
    const legacyReads: string[] = [];
    const legacy = {
      load: async (account: string) => {
        legacyReads.push(account);
        return account === 'gmail' ? before : undefined;
      },
    };
    const store = new SealedOAuth2TokenStore(stateTable(dynamo.client, tableName), sealer(), legacy);
    assert.deepEqual(await store.load('gmail'), before, 'the tokens saved before sealing');
    assert.equal(await store.load('nobody'), undefined);
    const rotated = { ...before, refreshToken: 'rt-new', accessToken: 'at-new', expiresAt: 2 };
    await store.save('gmail', rotated);
    legacyReads.length = 0;
    assert.deepEqual(
      await new SealedOAuth2TokenStore(stateTable(dynamo.client, tableName), sealer(), legacy).load('gmail'),
      rotated,
    );
    assert.deepEqual(legacyReads, [], 'once sealed, the old secret is not read');
    const { Items } = await dynamo.client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'begins_with(pk, :p)',
        ExpressionAttributeValues: { ':p': { S: 'OAUTH2#' } },
      }),
    );
    assert.equal(Items?.length, 1);
    assert.ok(
      !JSON.stringify(Items).includes('rt-new'),
      'the refresh token is not in the item in plain text',
    );
    // Without a credentials key (a stack not deployed again) a refresh is refused loudly, not saved in clear.
    await assert.rejects(
      new SealedOAuth2TokenStore(stateTable(dynamo.client, tableName), undefined, legacy).save(
        'gmail',
        rotated,
      ),
      /no credentials key/,
    );
  });

  it("does not open another stack's values: its wrapping key is another one, under another context", async () => {
    const other = await dynamo.createTable();
    const elsewhere = new KmsCredentialSealer({
      kms: kms.client(),
      keyId: kms.keyArn,
      stack: 'Other',
      table: stateTable(dynamo.client, other),
      clock: systemClock,
    });
    const sealed = await sealer().seal('secret', { kind: 'account', id: 'alice' });
    await assert.rejects(elsewhere.open(sealed, { kind: 'account', id: 'alice' }));
  });
});
