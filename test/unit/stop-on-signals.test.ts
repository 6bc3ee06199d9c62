import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopOnSignals } from '../../src/compose/stop-on-signals.js';

class FakeProcess extends EventEmitter {
  readonly exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
}

describe('stopping on SIGTERM', () => {
  it('stops a watcher that was still starting when SIGTERM came, once it has started, and exits 0', async () => {
    const target = new FakeProcess();
    const steps: string[] = [];
    let started: (running: { stop(): Promise<void> }) => void = () => {};
    stopOnSignals(
      new Promise((resolve) => {
        started = resolve;
      }),
      target,
    );
    target.emit('SIGTERM');
    target.emit('SIGTERM'); // ECS may repeat it: one stop
    await sleep(20);
    assert.deepEqual(target.exits, [], 'nothing to stop yet');
    started({
      stop: async () => {
        steps.push('stop');
      },
    });
    await sleep(20);
    assert.deepEqual(steps, ['stop']);
    assert.deepEqual(target.exits, [0]);
  });

  it('exits 1 when the stop fails', async () => {
    const target = new FakeProcess();
    stopOnSignals(Promise.resolve({ stop: () => Promise.reject(new Error('lease table down')) }), target);
    target.emit('SIGINT');
    await sleep(20);
    assert.deepEqual(target.exits, [1]);
  });
});
