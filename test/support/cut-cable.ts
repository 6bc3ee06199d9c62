import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A real network path that can be cut like a pulled cable: the kernel drops every packet, so nothing answers, not
 * even TCP keepalive probes (which a relay in user space would answer from its own kernel, as FlakyNetwork does).
 *
 * The bridge connects to an address inside a network namespace of its own, joined to this one by a veth pair;
 * a relay in the namespace forwards to a relay here, which forwards to the server on loopback. Cutting takes the
 * namespace's end of the veth down. Needs root (CI and the test machines run as root), as the Courier tests do.
 */
export class CutCable {
  private readonly namespace: string;
  private readonly hostSide: string;
  private readonly farSide: string;
  private readonly hostAddress: string;
  /** The address the bridge connects to, inside the namespace. */
  readonly farAddress: string;
  private relay: ChildProcess | undefined;
  private hostRelay: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly targetPort: number) {
    const tag = process.pid % 100_000;
    this.namespace = `idlehook-cut-${tag}`;
    this.hostSide = `ihc${tag}a`;
    this.farSide = `ihc${tag}b`;
    const subnet = `10.231.${tag % 250}`;
    this.hostAddress = `${subnet}.1`;
    this.farAddress = `${subnet}.2`;
  }

  /** Sets up the namespace and both relays; resolves with the port the bridge connects to at farAddress. */
  async listen(): Promise<number> {
    this.removeNamespace();
    ip('netns', 'add', this.namespace);
    ip('link', 'add', this.hostSide, 'type', 'veth', 'peer', 'name', this.farSide);
    ip('link', 'set', this.farSide, 'netns', this.namespace);
    ip('addr', 'add', `${this.hostAddress}/30`, 'dev', this.hostSide);
    ip('link', 'set', this.hostSide, 'up');
    this.inNamespace('addr', 'add', `${this.farAddress}/30`, 'dev', this.farSide);
    this.inNamespace('link', 'set', this.farSide, 'up');
    // A cut past the first hop: the neighbour stays known, so probes are sent and go unanswered (ETIMEDOUT), as
    // when a cable is pulled further down the path. Without this, an expired ARP entry makes it EHOSTUNREACH.
    const farMac = execFileSync('ip', [
      'netns',
      'exec',
      this.namespace,
      'cat',
      `/sys/class/net/${this.farSide}/address`,
    ])
      .toString()
      .trim();
    ip('neigh', 'replace', this.farAddress, 'lladdr', farMac, 'dev', this.hostSide, 'nud', 'permanent');

    const hostRelay = createServer((client) => this.pipe(client, connect(this.targetPort, '127.0.0.1')));
    this.hostRelay = hostRelay;
    await new Promise<void>((resolve) => hostRelay.listen(0, this.hostAddress, resolve));
    const hostPort = (hostRelay.address() as AddressInfo).port;

    const relay = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.namespace,
        process.execPath,
        '-e',
        RELAY,
        this.farAddress,
        this.hostAddress,
        `${hostPort}`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.relay = relay;
    return new Promise<number>((resolve, reject) => {
      relay.once('error', reject);
      relay.once('exit', (code) => reject(new Error(`the relay in the namespace exited (${code})`)));
      relay.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    });
  }

  /** Pulls the cable: packets in both directions are dropped from now on, without a reset. */
  cut(): void {
    this.inNamespace('link', 'set', this.farSide, 'down');
  }

  /** Plugs it back in: new connections work; the kernel already gave up on the ones that timed out. */
  restore(): void {
    this.inNamespace('link', 'set', this.farSide, 'up');
  }

  async close(): Promise<void> {
    this.relay?.kill();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) =>
      this.hostRelay ? this.hostRelay.close(() => resolve()) : resolve(),
    );
    this.removeNamespace();
  }

  private pipe(client: Socket, upstream: Socket): void {
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', end).on('close', () => {
        this.sockets.delete(socket);
        end();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private inNamespace(...args: string[]): void {
    ip('netns', 'exec', this.namespace, 'ip', ...args);
  }

  private removeNamespace(): void {
    // Deleting the namespace deletes the veth pair with it; a pair left by an earlier run goes too.
    spawnSync('ip', ['netns', 'del', this.namespace], { stdio: 'ignore' });
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The relay in the namespace: accepts on argv[1] (any port) and forwards to argv[2]:argv[3]; prints its port. */
const RELAY = `
const net = require('node:net');
const [listenHost, targetHost, targetPort] = process.argv.slice(1);
const server = net.createServer((client) => {
  const upstream = net.connect(Number(targetPort), targetHost);
  for (const s of [client, upstream]) s.on('error', () => { client.destroy(); upstream.destroy(); });
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen(0, listenHost, () => console.log(server.address().port));
`;
