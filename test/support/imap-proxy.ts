import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A scripted IMAP proxy in front of a real server (plain text on both sides), to imitate what a provider that
 * cannot be reached from here is documented to do: rewrite or inject server responses, answer commands itself,
 * drop connections. Literals pass through untouched; scripts see whole lines only.
 */
export interface ProxyScript {
  /** Replaces the server's greeting, or refuses the connection (closes it at once). */
  greeting?(connection: ProxyConnection): string | 'refuse' | undefined;
  /** A command from the client: answer it here (the lines to send back) or pass it on (undefined). */
  fromClient?(line: string, connection: ProxyConnection): string[] | undefined;
  /** Rewrites a command before it goes to the server (after fromClient chose to pass it on). */
  rewriteCommand?(line: string): string;
  /** A line from the server: replace it (lines, [] drops it) or pass it on (undefined). */
  fromServer?(line: string, connection: ProxyConnection): string[] | undefined;
}

export class ProxyConnection {
  /** The command the client sent last, by tag (e.g. "A5" -> "SELECT"). */
  readonly commands = new Map<string, string>();
  loggedIn = false;
  idling = false;

  constructor(
    readonly id: number,
    private readonly client: Socket,
    private readonly server: Socket,
  ) {}

  sendToClient(lines: readonly string[]): void {
    for (const line of lines) this.client.write(`${line}\r\n`);
  }

  close(): void {
    this.client.end();
    this.server.destroy();
  }
}

/** Splits a stream into lines, handing literal bytes ({N} at a line's end) through as they are. */
class LineReader {
  private buffer = Buffer.alloc(0);
  private literalLeft = 0;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onRaw: (bytes: Buffer) => void,
    /** The line that introduces a literal, as it is to be written (the literal's bytes follow unchanged). */
    private readonly literalLine: (line: string) => string = (line) => line,
  ) {}

  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.literalLeft > 0) {
        if (this.buffer.length === 0) return;
        const take = Math.min(this.literalLeft, this.buffer.length);
        this.onRaw(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.literalLeft -= take;
        continue;
      }
      const end = this.buffer.indexOf('\r\n');
      if (end < 0) return;
      const line = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(end + 2);
      const literal = /\{(\d+)\+?\}$/.exec(line);
      if (literal) {
        // A line that introduces a literal passes with its literal, changed at most before the {N} marker.
        this.onRaw(Buffer.from(`${this.literalLine(line)}\r\n`, 'latin1'));
        this.literalLeft = Number(literal[1]);
      } else {
        this.onLine(line);
      }
    }
  }
}

export class ImapProxy {
  private readonly server: Server;
  private readonly open = new Set<ProxyConnection>();
  /** Connections accepted so far. */
  connections = 0;
  /** LOGIN or AUTHENTICATE commands that passed through to the server. */
  logins = 0;
  port = 0;

  constructor(
    private readonly upstreamPort: number,
    private readonly script: ProxyScript,
  ) {
    this.server = createServer((client) => this.accept(client));
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  async close(): Promise<void> {
    for (const connection of this.open) connection.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.connections += 1;
    const upstream = connect(this.upstreamPort, '127.0.0.1');
    const connection = new ProxyConnection(this.connections, client, upstream);
    this.open.add(connection);
    const drop = () => {
      this.open.delete(connection);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    let greeted = false;
    const fromServer = new LineReader(
      (line) => {
        if (!greeted) {
          greeted = true;
          const greeting = this.script.greeting?.(connection);
          if (greeting === 'refuse') return drop();
          client.write(`${greeting ?? line}\r\n`);
          return;
        }
        const tagged = /^(\S+) OK/.exec(line);
        if (tagged?.[1] && /^(LOGIN|AUTHENTICATE)$/i.test(connection.commands.get(tagged[1]) ?? ''))
          connection.loggedIn = true;
        const replaced = this.script.fromServer?.(line, connection);
        for (const out of replaced ?? [line]) client.write(`${out}\r\n`);
      },
      (bytes) => client.write(bytes),
      (line) => {
        // A script may rewrite such a line (a FETCH answer that carries the message) only as one line that keeps
        // its literal marker; anything else leaves it as the server sent it.
        const replaced = this.script.fromServer?.(line, connection);
        const marker = /\{\d+\+?\}$/.exec(line)?.[0] ?? '';
        return replaced?.length === 1 && replaced[0]?.endsWith(marker) ? replaced[0] : line;
      },
    );
    const fromClient = new LineReader(
      (line) => {
        const [tag, command] = line.split(' ');
        if (tag && command) connection.commands.set(tag, command.toUpperCase());
        if (command && /^(LOGIN|AUTHENTICATE)$/i.test(command)) this.logins += 1;
        if (command?.toUpperCase() === 'IDLE') connection.idling = true;
        if (line.toUpperCase() === 'DONE') connection.idling = false;
        const answer = this.script.fromClient?.(line, connection);
        if (answer) connection.sendToClient(answer);
        else upstream.write(`${this.script.rewriteCommand?.(line) ?? line}\r\n`);
      },
      (bytes) => upstream.write(bytes),
    );
    upstream.on('data', (chunk: Buffer) => fromServer.push(chunk));
    client.on('data', (chunk: Buffer) => fromClient.push(chunk));
  }
}

/** The tag and upper-cased command name of a client line ("A7 UID FETCH ..." -> ["A7", "UID FETCH"]). */
export function commandOf(line: string): { readonly tag: string; readonly name: string } {
  const [tag = '', first = '', second = ''] = line.split(' ');
  const name = first.toUpperCase() === 'UID' ? `UID ${second.toUpperCase()}` : first.toUpperCase();
  return { tag, name };
}

/** The bridge's account behind a proxy: plain text on loopback, its password from TEST_IMAP_PASSWORD. */
export function accountBehind(port: number, user: string, mailboxes: readonly string[] = ['INBOX']) {
  return {
    id: 'support',
    host: '127.0.0.1',
    port,
    security: 'none',
    user,
    password: { env: 'TEST_IMAP_PASSWORD' },
    mailboxes: [...mailboxes],
  };
}
