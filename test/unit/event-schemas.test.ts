import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { EVENT_SCHEMAS, EVENT_TYPES, jsonSchemaOf } from '../../src/domain/event-schemas.js';

describe('published event schemas', () => {
  it('cover every event type, and the files in schemas/ are what the code defines (npm run schemas)', () => {
    assert.deepEqual(Object.keys(EVENT_SCHEMAS).sort(), [...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) {
      const file = join(import.meta.dirname, '../../schemas', `${type}.schema.json`);
      assert.deepEqual(
        JSON.parse(readFileSync(file, 'utf8')),
        jsonSchemaOf(type),
        `${file} is stale: run npm run schemas`,
      );
    }
  });

  it('reject a body that breaks the contract', () => {
    const ajv = new Ajv2020();
    addFormats.default(ajv);
    const validate = ajv.compile(jsonSchemaOf('mailbox.reset'));
    const reset = {
      type: 'mailbox.reset',
      timestamp: '2026-11-27T10:00:00.000Z',
      data: { account: 'a', mailbox: 'INBOX', previousUidValidity: '1', uidValidity: '2', uidNext: 5 },
    };
    assert.equal(validate(reset), true);
    assert.equal(
      validate({ ...reset, data: { ...reset.data, uidValidity: 2 } }),
      false,
      'UIDVALIDITY is a string',
    );
    assert.equal(
      validate({ ...reset, data: { ...reset.data, extra: true } }),
      false,
      'no undocumented fields',
    );
    assert.equal(validate({ ...reset, timestamp: 'yesterday' }), false);
  });
});
