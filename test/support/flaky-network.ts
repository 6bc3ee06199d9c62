import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay between the bridge and a server that can cut the network: while cut, new connections are
 * reset and established ones go silent in both directions (packets dropped, no reset), as with a pulled
 * cable. Connections that went silent stay silent after the network is back, as on a real network whose
 * NAT state was lost: the bridge has to notice them itself.
 */
export class FlakyNetwork {
  private readonly server: Server;
  private readonly live = new Set<{ client: Socket; upstream: Socket }>();
  private readonly silenced = new Set<{ client: Socket; upstream: Socket }>();
  private cut = false;
  private trap: { pattern: RegExp; how: 'reset' | 'silence' } | undefined;
  port = 0;

  constructor(private readonly targetPort: number) {
    this.server = createServer((client) => {
      if (this.cut) {
        client.resetAndDestroy();
        return;
      }
      const upstream = connect(this.targetPort, '127.0.0.1');
      const pair = { client, upstream };
      this.live.add(pair);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('data', (chunk: Buffer) => {
        const trap = this.trap;
        if (!trap?.pattern.test(chunk.toString('latin1'))) return;
        this.trap = undefined;
        if (trap.how === 'reset') {
          upstream.destroy();
          client.resetAndDestroy();
        } else this.silence(pair);
      });
      const end = () => {
        this.live.delete(pair);
        this.silenced.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end).on('error', end);
      // A cut cable carries no FIN either: a silenced connection stays open on the client's side even when the
      // server closes its end (a keep-alive timeout, say), until the client gives up on it.
      const upstreamEnded = () => {
        if (this.silenced.has(pair)) upstream.destroy();
        else end();
      };
      upstream.on('close', upstreamEnded).on('error', upstreamEnded);
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  /** Drops the network: existing connections go silent for good, new ones are refused until restore(). */
  cutOff(): void {
    this.cut = true;
    for (const pair of this.live) this.silence(pair);
  }

  /**
   * The next plain-text command matching `pattern` (sent after this call) breaks its connection once: `reset`
   * resets it, `silence` lets the command through and drops every answer, for good.
   */
  breakOnce(pattern: RegExp, how: 'reset' | 'silence'): void {
    this.trap = { pattern, how };
  }

  private silence(pair: { client: Socket; upstream: Socket }): void {
    pair.client.unpipe(pair.upstream);
    pair.upstream.unpipe(pair.client);
    pair.client.pause();
    pair.upstream.pause();
    this.live.delete(pair);
    this.silenced.add(pair);
  }

  restore(): void {
    this.cut = false;
  }

  close(): Promise<void> {
    for (const { client, upstream } of [...this.live, ...this.silenced]) {
      client.destroy();
      upstream.destroy();
    }
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
