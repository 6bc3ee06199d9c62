import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EmfMetrics } from '../../src/adapters/metrics/emf-metrics.js';
import { PIPELINE_METRICS } from '../../src/config/deployment.js';

/** What `act` writes to standard output (where Powertools writes EMF outside Lambda), line by line. */
function stdoutOf(act: () => void): string[] {
  const written: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    act();
  } finally {
    process.stdout.write = write;
  }
  return written.join('').split('\n').filter(Boolean);
}

describe('EMF metrics (the functions, through Powertools Metrics)', () => {
  it('writes one embedded-metric-format line per invocation, with the names and dimension the construct uses', () => {
    const metrics = new EmfMetrics(PIPELINE_METRICS.deliverService);
    const lines = stdoutOf(() => {
      metrics.deliveryAttempt({ outcome: 'retry', statusClass: '5xx', eventAgeMs: 70_000 });
      metrics.deliveryAttempt({
        outcome: 'delivered',
        statusClass: '2xx',
        eventAgeMs: 120,
        sinceDetectedMs: 120,
        endToEndMs: 900,
      });
      metrics.deliveryAttempt({ outcome: 'dead-lettered', statusClass: 'none' });
      metrics.flush();
      metrics.flush(); // nothing counted since: no line, no warning
    });
    assert.equal(lines.length, 1, lines.join('\n'));
    const emf = JSON.parse(lines[0] ?? '{}');
    const [directive] = emf._aws.CloudWatchMetrics;
    assert.equal(directive.Namespace, 'idlehook');
    assert.deepEqual(directive.Dimensions, [['service']]);
    assert.equal(emf.service, 'idlehook-deliver');
    const units = new Map(directive.Metrics.map((m: { Name: string; Unit: string }) => [m.Name, m.Unit]));
    assert.deepEqual([...units.keys()].sort(), [
      'DeliveryLatency',
      'EndToEndLatency',
      'EventAgeAtAttempt',
      'WebhookAttempts2xx',
      'WebhookAttempts5xx',
      'WebhookAttemptsNoResponse',
      'WebhookRetries',
      'WebhooksDeadLettered',
      'WebhooksDelivered',
    ]);
    assert.equal(units.get('DeliveryLatency'), 'Milliseconds');
    assert.equal(emf.WebhooksDelivered, 1);
    assert.equal(emf.WebhookRetries, 1);
    assert.equal(emf.DeliveryLatency, 120);
    assert.equal(emf.EndToEndLatency, 900);
    assert.deepEqual(emf.EventAgeAtAttempt, [70_000, 120], 'every attempt, the failed one included');
  });

  it('counts queued events for the parse function', () => {
    const metrics = new EmfMetrics(PIPELINE_METRICS.parseService);
    const [line] = stdoutOf(() => {
      metrics.eventQueued('message.received');
      metrics.eventQueued('message.received');
      metrics.flush();
    });
    const emf = JSON.parse(line ?? '{}');
    assert.equal(emf.service, 'idlehook-parse');
    assert.deepEqual(emf.EventsQueued, [1, 1]);
  });
});
