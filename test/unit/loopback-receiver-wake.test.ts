import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { LoopbackReceiverWake } from '../../src/adapters/http/loopback-receiver-wake.js';
import type { WebhookResponse } from '../../src/ports/pipeline.js';

/** A port nothing listens on (yet): bound once to learn a free one, then closed. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const refused: WebhookResponse = { error: 'connection refused', refused: true, durationMs: 1 };
const request = (url: string) => ({ url, headers: {}, body: '{}', timeoutMs: 1000 });

describe('a refused receiver on this machine', () => {
  it('is tried until it accepts connections, then named once by its origin', async () => {
    const port = await freePort();
    const answering: string[] = [];
    const wake = new LoopbackReceiverWake({ send: async () => refused }, async (origin) => {
      answering.push(origin);
    });
    let server: Server | undefined;
    try {
      await wake.send(request(`http://127.0.0.1:${port}/hooks`));
      await wake.send(request(`http://127.0.0.1:${port}/other`));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.deepEqual(answering, [], 'nothing answers yet');
      server = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
      const deadline = Date.now() + 5_000;
      while (answering.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      assert.deepEqual(answering, [`http://127.0.0.1:${port}`], 'one origin, named once');
    } finally {
      wake.close();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    }
  });

  it('leaves a remote endpoint, and an answered request, to the retry schedule', async () => {
    const answering: string[] = [];
    const sent: string[] = [];
    const wake = new LoopbackReceiverWake(
      {
        send: async ({ url }) => {
          sent.push(url);
          return url.includes('example') ? refused : { status: 503, durationMs: 1 };
        },
      },
      async (origin) => {
        answering.push(origin);
      },
    );
    try {
      // A remote refusal is not probed (no TCP storm at someone else's host); a 503 is an answer.
      await wake.send(request('https://hooks.example.com/'));
      await wake.send(request('http://127.0.0.1:9/'));
      assert.equal((wake as unknown as { probes: Map<string, unknown> }).probes.size, 0);
      assert.equal(sent.length, 2);
    } finally {
      wake.close();
    }
  });
});
