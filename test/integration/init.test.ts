import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { BridgeProcess, runIdlehook } from '../support/bridge.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { waitForIdle } from '../support/scenario.js';
import { TokenServer } from '../support/token-server.js';

const CLI = resolve(import.meta.dirname, '../../bin/idlehook.js');

/** `idlehook ARGS` in `cwd`, with `input` on its standard input; resolves with its exit code and output. */
const idlehook = (cwd: string, args: string[], input = '', env: NodeJS.ProcessEnv = {}) =>
  runIdlehook(args, { cwd, input, env });

/** A long-running `idlehook ARGS`; `output()` is what it has printed so far, both streams. */
function started(cwd: string, args: string[]) {
  const child: ChildProcess = spawn(process.execPath, [CLI, ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  return {
    output: () => output,
    async until(pattern: RegExp, what: string, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output)) {
        if (child.exitCode !== null) assert.fail(`exited (${child.exitCode}) before ${what}:\n${output}`);
        if (Date.now() > deadline) assert.fail(`no ${what} within ${timeoutMs} ms:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const folder = () => mkdtempSync(join(tmpdir(), 'idlehook-init-'));

describe('idlehook init', () => {
  let dovecot: DovecotServer | undefined;
  after(async () => {
    await dovecot?.stop();
  });

  it('a first run in two commands: init --run (no mail account) and listen, which prints the verified sample', async () => {
    const dir = folder();
    // Standard input ends at once: every question takes its default (no account, idlehook listen, a new secret).
    const bridge = started(dir, ['init', '--run']);
    const listener = started(dir, ['listen']);
    try {
      await bridge.until(/Wrote .*idlehook\.config\.json/, 'the config written');
      await listener.until(/Listening on http:\/\/127\.0\.0\.1:7466\//, 'the receiver');
      await listener.until(
        /message\.received account=sample mailbox=INBOX/,
        'the verified sample event',
        60_000,
      );
    } finally {
      await Promise.all([bridge.stop(), listener.stop()]);
    }
    // The receiver verified it with the secret init wrote (it says which), not one of its own.
    assert.match(
      listener.output(),
      /[Vv]erifying with the secret of subscription listen in .*idlehook\.config\.json/,
    );
    const config = JSON.parse(readFileSync(join(dir, 'idlehook.config.json'), 'utf8'));
    assert.deepEqual(config, {
      envFile: 'idlehook.env',
      accounts: [],
      subscriptions: [
        { id: 'listen', url: 'http://127.0.0.1:7466/', secret: { env: 'IDLEHOOK_WEBHOOK_SECRET' } },
      ],
    });
    const envFile = join(dir, 'idlehook.env');
    assert.equal(statSync(envFile).mode & 0o777, 0o600);
    assert.match(readFileSync(envFile, 'utf8'), /^IDLEHOOK_WEBHOOK_SECRET='whsec_[A-Za-z0-9+/=]{32,}'$/m);
  });

  // The quick start in the README's order: the bridge first, `listen` seconds later. Its sample is refused twice
  // (at once and at the 5-s retry), so the schedule's next attempt is 5 minutes away: the test's 30 s bound fails
  // unless the bridge notices the receiver answering.
  for (const commands of [[['init', '--run']], [['init'], ['run']]])
    it(`the sample reaches a receiver started after the bridge within seconds (${commands.map((c) => c.join(' ')).join(', then ')})`, async (t) => {
      const dir = folder();
      let bridge: ReturnType<typeof started> | undefined;
      let listener: ReturnType<typeof started> | undefined;
      try {
        const [first, second] = commands;
        if (second) assert.equal((await idlehook(dir, first ?? [])).code, 0);
        bridge = started(dir, second ?? first ?? []);
        await bridge.until(
          /"delivery attempt failed"[^\n]*connection refused|connection refused/,
          'a refused attempt',
        );
        // A user reads the message, opens a second terminal and types the command.
        await new Promise((resolve) => setTimeout(resolve, 7_000));
        const listenStartedAt = Date.now();
        listener = started(dir, ['listen']);
        await listener.until(
          /message\.received account=sample mailbox=INBOX/,
          'the verified sample event',
          30_000,
        );
        // Reported, not asserted: the 30-s bound above is what the 5-min retry cannot meet.
        t.diagnostic(`the sample arrived ${(Date.now() - listenStartedAt) / 1000} s after listen started`);
        assert.match(bridge.output(), /the receiver answers now: retrying its deliveries/);
      } finally {
        await Promise.all([bridge?.stop(), listener?.stop()]);
      }
    });

  it('keeps the files with secrets out of git: adds them to the .gitignore it finds, or says to', async () => {
    const repository = folder();
    mkdirSync(join(repository, '.git'));
    writeFileSync(join(repository, '.gitignore'), 'node_modules/\nidlehook.env');
    const project = join(repository, 'mail');
    mkdirSync(project);
    const first = await idlehook(project, ['init']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Added mail\/idlehook\.config\.json, mail\/\.idlehook\/ to .*\.gitignore/);
    assert.equal(
      readFileSync(join(repository, '.gitignore'), 'utf8'),
      'node_modules/\nidlehook.env\nmail/idlehook.config.json\nmail/.idlehook/\n',
      'the env file was listed (at the root, as the user wrote it); the rest added, once',
    );
    const again = await idlehook(project, ['init', '--force']);
    assert.match(again.stdout, /\.gitignore already keeps them out of git/);

    const loose = folder();
    const alone = await idlehook(loose, ['init']);
    assert.match(alone.stdout, /keep idlehook\.config\.json, idlehook\.env, .* out of version control/);
  });

  it('asks for an account, checks it with the doctor, and the config it writes delivers that mailbox', async () => {
    dovecot = await startDovecot([{ name: 'support', password: "correct horse #1 'x'" }]);
    const secret = newWebhookSecret();
    const receiver = new WebhookReceiver(secret);
    const url = await receiver.listen();
    const dir = folder();
    // The answers a user types: host, port, security (Enter: tls), user, password (Enter), the password, the
    // webhook URL and its secret. The CA is for the test's own certificate authority.
    const answers = [
      'localhost',
      String(dovecot.tlsPort),
      '',
      'support',
      '',
      "correct horse #1 'x'",
      url,
      secret,
    ];
    const init = await idlehook(dir, ['init', '--ca', dovecot.caFile], `${answers.join('\n')}\n`);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /ok +login/);
    assert.match(init.stdout, /all checks passed/);
    const written = readFileSync(join(dir, 'idlehook.config.json'), 'utf8');
    assert.doesNotMatch(written, /correct horse|whsec_/, 'no secret in the config itself');
    assert.equal(JSON.parse(written).accounts[0].id, 'support');

    const bridge = new BridgeProcess(dir);
    bridge.url = 'http://127.0.0.1:7465';
    const appender = await connectAppender(dovecot, 'support', "correct horse #1 'x'");
    try {
      await bridge.start();
      await waitForIdle(bridge, ['support']);
      await appender.append('INBOX', simpleMessage('Written by init'));
      await receiver.waitUntil(
        () => receiver.ofType('message.received').some((w) => w.body.data.subject === 'Written by init'),
        15_000,
        'the message, signed with the secret init was given',
      );
    } finally {
      await appender.logout();
      await bridge.kill('SIGTERM');
      await receiver.close();
    }
  });

  it('offers to trust a self-signed server certificate, fingerprint shown, and saves it as the CA', async () => {
    const selfSigned = await startDovecot([{ name: 'support', password: 'pw' }], {
      certificate: 'self-signed',
    });
    try {
      const dir = folder();
      const answers = ['localhost', String(selfSigned.tlsPort), '', 'support', '', 'pw', '', '', 'yes'];
      const init = await idlehook(dir, ['init'], `${answers.join('\n')}\n`);
      assert.equal(init.code, 0, `${init.stdout}\n${init.stderr}`);
      const fingerprint = /SHA-256 ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})/.exec(init.stdout)?.[1];
      assert.ok(fingerprint, init.stdout);
      assert.match(init.stdout, /Saved the certificate as .*support-ca\.pem; checking again/);
      assert.match(init.stdout, /all checks passed/);
      const config = JSON.parse(readFileSync(join(dir, 'idlehook.config.json'), 'utf8'));
      assert.equal(config.accounts[0].tls.ca, join(dir, 'support-ca.pem'));
      assert.match(readFileSync(join(dir, 'support-ca.pem'), 'utf8'), /^-----BEGIN CERTIFICATE-----\n/);

      // Without a yes nothing is trusted and nothing is written; the fingerprint given as an option trusts it.
      const declined = folder();
      const no = await idlehook(declined, ['init'], `${answers.slice(0, -1).join('\n')}\n`);
      assert.equal(no.code, 78);
      assert.equal(existsSync(join(declined, 'idlehook.config.json')), false);
      const scripted = folder();
      const byOption = await idlehook(
        scripted,
        ['init', '--trust-certificate', fingerprint.replaceAll(':', '').toLowerCase()],
        `${answers.slice(0, -1).join('\n')}\n`,
      );
      assert.equal(byOption.code, 0, byOption.stdout);
      // In an option, written before the server was seen, "yes" would trust whatever is presented: refused.
      const blind = folder();
      const yes = await idlehook(
        blind,
        ['init', '--trust-certificate', 'yes'],
        `${answers.slice(0, -1).join('\n')}\n`,
      );
      assert.equal(yes.code, 78);
      assert.match(
        yes.stderr,
        /--trust-certificate: the server presents the certificate with SHA-256 [0-9A-F:]+, not yes/,
      );
      assert.equal(existsSync(join(blind, 'idlehook.config.json')), false);
    } finally {
      await selfSigned.stop();
    }
  });

  it('writes nothing when the doctor fails, and never replaces a config without --force', async () => {
    assert.ok(dovecot, 'runs after the previous case');
    const dir = folder();
    const wrong = await idlehook(
      dir,
      ['init', '--host', 'localhost', '--port', String(dovecot.tlsPort), '--ca', dovecot.caFile],
      '\nsupport\n\nnot the password\n',
    );
    assert.equal(wrong.code, 78);
    assert.match(wrong.stdout, /FAIL +login/);
    assert.match(wrong.stderr, /account: the checks above failed; nothing was written/);
    assert.equal(existsSync(join(dir, 'idlehook.config.json')), false);
    assert.equal(existsSync(join(dir, 'idlehook.env')), false);

    writeFileSync(join(dir, 'idlehook.config.json'), '{ "subscriptions": [] }');
    const again = await idlehook(dir, ['init', '--no-account']);
    assert.equal(again.code, 78);
    assert.match(
      again.stderr,
      /idlehook\.config\.json exists already: idlehook init does not replace it without --force/,
    );
    assert.doesNotMatch(again.stderr, /Invalid configuration/);
    assert.equal(readFileSync(join(dir, 'idlehook.config.json'), 'utf8'), '{ "subscriptions": [] }');
    writeFileSync(join(dir, 'idlehook.env'), 'OLD=1\n', { mode: 0o644 });
    const forced = await idlehook(dir, ['init', '--no-account', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(
      statSync(join(dir, 'idlehook.env')).mode & 0o777,
      0o600,
      'a replaced secrets file is private too',
    );
    assert.match(forced.stdout, /Queued a sample message/);
  });

  it('sets up an OAuth2 account from options alone, checked by the doctor with a real token endpoint', async () => {
    const tokens = new TokenServer();
    const base = await tokens.listen();
    const oauthDovecot = await startDovecot([{ name: 'support', password: 'unused' }], {
      oauth2IntrospectionUrl: `${base}/introspect`,
    });
    try {
      const dir = folder();
      const refreshToken = tokens.issueRefreshToken();
      const options = [
        ...['--host', 'localhost', '--port', String(oauthDovecot.tlsPort), '--ca', oauthDovecot.caFile],
        ...[
          '--user',
          'support',
          '--oauth2-client-id',
          'idlehook-test',
          '--oauth2-token-url',
          `${base}/token`,
        ],
        ...['--oauth2-refresh-token-env', 'MY_REFRESH_TOKEN', '--url', 'https://hooks.example.com/mail'],
      ];
      const init = await idlehook(dir, ['init', ...options], '', { MY_REFRESH_TOKEN: refreshToken });
      assert.equal(init.code, 0, init.stdout + init.stderr);
      assert.match(init.stdout, /ok +login/);
      assert.equal(tokens.refreshes, 1, "the doctor's one login used an access token from the refresh token");
      const config = JSON.parse(readFileSync(join(dir, 'idlehook.config.json'), 'utf8'));
      assert.deepEqual(config.accounts[0].oauth2, {
        clientId: 'idlehook-test',
        tokenUrl: `${base}/token`,
        refreshToken: { env: 'IDLEHOOK_OAUTH2_REFRESH_TOKEN' },
      });
      assert.equal(config.subscriptions[0].id, 'webhook');
      assert.ok(
        readFileSync(join(dir, 'idlehook.env'), 'utf8').includes(
          `IDLEHOOK_OAUTH2_REFRESH_TOKEN='${refreshToken}'`,
        ),
      );
    } finally {
      await oauthDovecot.stop();
      await tokens.close();
    }
  });
});
