import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DynamoDbApiTokenStore } from '../../src/adapters/aws/dynamodb-api-token-store.js';
import { stateTable } from '../../src/adapters/aws/dynamodb-documents.js';
import { openLocalStores } from '../../src/adapters/local/local-stores.js';
import { redeemLoginCode } from '../../src/api/tokens.js';
import { DASHBOARD_SESSION_MS, LOGIN_CODE_LIFETIME_MS } from '../../src/domain/api-tokens.js';
import type { ApiTokenStore } from '../../src/ports/management.js';
import { startDynamoDb } from '../support/aws-emulators.js';

const clock = { time: 1_700_000_000_000, now: () => clock.time };

/** Dashboard login links and expiring tokens, asserted on both token stores. */
function tokenStoreContract(name: string, open: () => Promise<ApiTokenStore>): void {
  it(`${name}: a login link's code is good once, within its lifetime, and is never a token itself`, async () => {
    const tokens = await open();
    assert.equal(await tokens.any(), false);
    const code = await tokens.createLoginCode('read', clock.now() + LOGIN_CODE_LIFETIME_MS);
    assert.match(code, /^ihl_/);
    assert.equal(await tokens.verify(code), undefined, 'a code is not a bearer token');
    assert.equal(await tokens.any(), false, 'a code alone does not close an open dashboard');
    assert.deepEqual(await tokens.list(), [], 'codes are not listed as tokens');

    const token = (await redeemLoginCode(tokens, clock, code)) ?? '';
    assert.match(token, /^ihk_/);
    assert.equal(await tokens.verify(token), 'read', 'the token carries the scope the link was made with');
    assert.equal(await redeemLoginCode(tokens, clock, code), undefined, 'used once');
    const listed = await tokens.list();
    assert.deepEqual(
      listed.map((t) => [t.name, t.scope]),
      [['dashboard login', 'read']],
    );
    // DynamoDB keeps its expiry in whole seconds (its TTL attribute).
    assert.equal(
      Math.floor((listed[0]?.expiresAt ?? 0) / 1000),
      Math.floor((clock.now() + DASHBOARD_SESSION_MS) / 1000),
    );

    const late = await tokens.createLoginCode('full', clock.now() + LOGIN_CODE_LIFETIME_MS);
    clock.time += LOGIN_CODE_LIFETIME_MS + 1000;
    assert.equal(await redeemLoginCode(tokens, clock, late), undefined, 'an expired code');
    assert.equal(await redeemLoginCode(tokens, clock, 'ihl_never-made'), undefined);

    clock.time += DASHBOARD_SESSION_MS;
    assert.equal(await tokens.verify(token), undefined, "the login's token expires");
    assert.equal(await tokens.any(), false, 'an expired token counts for nothing');
    const { token: lasting } = await tokens.create('api', 'full');
    assert.equal(await tokens.verify(lasting), 'full', 'a token made without an expiry lasts');
  });
}

describe('API token stores', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  before(async () => {
    dynamo = await startDynamoDb();
  });
  after(async () => {
    await dynamo.stop();
  });
  tokenStoreContract(
    'SQLite (local mode)',
    async () => openLocalStores(mkdtempSync(join(tmpdir(), 'idlehook-tokens-')), clock).apiTokens,
  );
  tokenStoreContract(
    'DynamoDB (on dynalite)',
    async () => new DynamoDbApiTokenStore(stateTable(dynamo.client, await dynamo.createTable()), clock),
  );
});
