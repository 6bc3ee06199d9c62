import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextEndpointHealth } from '../../src/domain/endpoint-health.js';

const DAY = 86_400_000;

describe('endpoint health', () => {
  it('starts a failing period at the first failure and disables only once it lasted the whole period', () => {
    assert.deepEqual(nextEndpointHealth({}, false, 1_000, 5 * DAY), {
      kind: 'started-failing',
      since: 1_000,
    });
    const failing = { failingSince: 1_000 };
    assert.deepEqual(nextEndpointHealth(failing, false, 1_000 + 5 * DAY - 1, 5 * DAY), { kind: 'unchanged' });
    const disabled = nextEndpointHealth(failing, false, 1_000 + 5 * DAY, 5 * DAY);
    assert.equal(disabled.kind, 'disable');
    assert.match(disabled.kind === 'disable' ? disabled.reason : '', /since 1970-01-01T00:00:01.000Z/);
  });

  it('a single success ends the failing period', () => {
    assert.deepEqual(nextEndpointHealth({ failingSince: 1_000 }, true, 4 * DAY, 5 * DAY), {
      kind: 'recovered',
    });
    assert.deepEqual(nextEndpointHealth({}, true, 4 * DAY, 5 * DAY), { kind: 'unchanged' });
  });
});
