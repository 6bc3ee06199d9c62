import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { DoctorReport } from '../../src/domain/doctor-report.js';
import { BridgeProcess } from '../support/bridge.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { connectAppender } from '../support/mail.js';
import { freePort } from '../support/net.js';

const USER = { name: 'support', password: 'correct horse' };

/** Runs `idlehook doctor --json` on a config with one account; returns the exit code and the report. */
async function doctor(
  account: Record<string, unknown>,
): Promise<{ code: number | null; report: DoctorReport; human: string }> {
  const bridge = await BridgeProcess.create(
    { accounts: [{ id: 'support', user: USER.name, password: { env: 'DOCTOR_PASSWORD' }, ...account }] },
    { DOCTOR_PASSWORD: USER.password },
  );
  try {
    const json = await bridge.cli('doctor', '--json');
    const human = await bridge.cli('doctor');
    assert.equal(human.code, json.code);
    const [report] = JSON.parse(json.stdout) as DoctorReport[];
    assert.ok(report, json.stderr);
    return { code: json.code, report, human: human.stdout };
  } finally {
    await bridge.dispose();
  }
}

const failed = (report: DoctorReport) => report.steps.find((s) => !s.ok);

describe('idlehook doctor against real Dovecot servers', () => {
  let good: DovecotServer;
  let plainOnly: DovecotServer;
  let selfSigned: DovecotServer;
  let expired: DovecotServer;
  let noIdle: DovecotServer;

  before(async () => {
    [good, plainOnly, selfSigned, expired, noIdle] = await Promise.all([
      startDovecot([USER]),
      startDovecot([USER], { tls: false }),
      startDovecot([USER], { certificate: 'self-signed' }),
      startDovecot([USER], { certificate: 'expired' }),
      startDovecot([USER], { withoutCapabilities: ['IDLE', 'QRESYNC'] }),
    ]);
  });
  after(async () => {
    await Promise.all([good, plainOnly, selfSigned, expired, noIdle].map((d) => d?.stop()));
  });

  it('passes a working account, step by step, and exits 0', async () => {
    const { code, report, human } = await doctor({
      host: 'localhost',
      port: good.tlsPort,
      tls: { ca: good.caFile },
    });
    assert.equal(code, 0);
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.ok]),
      [
        ['dns', true],
        ['tcp', true],
        ['tls', true],
        ['login', true],
        ['capabilities', true],
        ['mailboxes', true],
        ['rights', true],
      ],
    );
    assert.match(report.steps.at(-1)?.summary ?? '', /does not say what this user may change \(no ACL\)/);
    assert.match(
      human,
      /ok +tls +TLSv1\.[23] with a valid certificate for localhost, issued by idlehook test CA/,
    );
    assert.match(human, /all checks passed/);
    assert.equal(good.loginAttempts(USER.name), 2, 'one login per run (--json and human)');
  });

  it('a wrong host name stops at DNS', async () => {
    const { code, report } = await doctor({ host: 'imap.does-not-exist.invalid', port: 993 });
    assert.equal(code, 1);
    assert.equal(failed(report)?.name, 'dns');
    assert.match(failed(report)?.fix ?? '', /host name/);
  });

  it('a wrong port is refused at TCP', async () => {
    const { report } = await doctor({ host: '127.0.0.1', port: await freePort(), tls: { ca: good.caFile } });
    assert.equal(failed(report)?.name, 'tcp');
    assert.match(failed(report)?.summary ?? '', /refused the connection/);
    assert.match(failed(report)?.fix ?? '', /Nothing listens on port/);
  });

  it('plain text ("none") is checked by its greeting, not labelled STARTTLS, and a wrong port names 143 for it', async () => {
    // A server of its own: the login here must not count against plainOnly's "no login attempt" check.
    const plain = await startDovecot([USER], { tls: false });
    const { code, report } = await doctor({
      host: '127.0.0.1',
      port: plain.plainPort,
      security: 'none',
    }).finally(() => plain.stop());
    assert.equal(code, 0, JSON.stringify(report));
    assert.deepEqual(report.steps.map((s) => s.name).slice(0, 4), ['dns', 'tcp', 'greeting', 'login']);
    assert.ok(!report.steps.some((s) => s.name === 'starttls'));
    const refused = await doctor({ host: '127.0.0.1', port: await freePort(), security: 'none' });
    assert.match(
      failed(refused.report)?.fix ?? '',
      /143 for "starttls" and "none" \(this account: "security": "none"\)/,
    );
  });

  it('a wrong password fails the login, in exactly one attempt', async () => {
    const before = good.loginFailures(USER.name);
    const bridge = await BridgeProcess.create({
      accounts: [
        {
          id: 'support',
          host: 'localhost',
          port: good.tlsPort,
          tls: { ca: good.caFile },
          user: USER.name,
          password: 'wrong',
        },
      ],
    });
    const result = await bridge.cli('doctor');
    await bridge.dispose();
    assert.equal(result.code, 1);
    assert.match(
      result.stdout,
      /FAIL +login .*rejected the login for support: wrong user name or password \(server said: .*AUTHENTICATIONFAILED/,
    );
    assert.match(
      result.stdout,
      /fix: Check the user name .* app password or OAuth2.* The password came from the config file itself\./,
    );
    assert.equal(good.loginFailures(USER.name) - before, 1, 'one failed login, not a storm');
  });

  it('a self-signed certificate is named, with its subject and dates', async () => {
    const { report } = await doctor({ host: 'localhost', port: selfSigned.tlsPort });
    const step = failed(report);
    assert.equal(step?.name, 'tls');
    assert.match(
      step?.summary ?? '',
      /DEPTH_ZERO_SELF_SIGNED_CERT\): subject localhost, issuer localhost, valid \d{4}-/,
    );
    assert.match(step?.fix ?? '', /self-signed/);
    assert.equal(
      selfSigned.loginAttempts(USER.name),
      0,
      'no password sent to a server that failed verification',
    );
  });

  it('an expired certificate says when it expired', async () => {
    const { report } = await doctor({
      host: 'localhost',
      port: expired.tlsPort,
      tls: { ca: expired.caFile },
    });
    assert.equal(failed(report)?.name, 'tls');
    assert.match(failed(report)?.summary ?? '', /CERT_HAS_EXPIRED/);
    assert.match(failed(report)?.fix ?? '', /expired on 2020-12-31/);
  });

  it('a certificate for another name says which names it covers', async () => {
    const { report } = await doctor({
      host: 'localhost',
      port: good.tlsPort,
      tls: { ca: good.caFile, servername: 'imap.example.com' },
    });
    assert.match(failed(report)?.summary ?? '', /ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.match(failed(report)?.fix ?? '', /names localhost, 127\.0\.0\.1, not imap\.example\.com/);
  });

  it('TLS to a plain-text port is told to use STARTTLS or the TLS port', async () => {
    const { report } = await doctor({ host: 'localhost', port: good.plainPort, tls: { ca: good.caFile } });
    assert.equal(failed(report)?.name, 'tls');
    assert.match(failed(report)?.summary ?? '', /answered in plain text/);
    assert.match(failed(report)?.fix ?? '', /"security": "starttls"/);
  });

  it('STARTTLS to the implicit-TLS port is told to use "tls"', async () => {
    const { report } = await doctor({
      host: 'localhost',
      port: good.tlsPort,
      security: 'starttls',
      tls: { ca: good.caFile },
    });
    assert.equal(failed(report)?.name, 'starttls');
    assert.match(failed(report)?.fix ?? '', /implicit-TLS port .* "security": "tls"/);
  });

  it('a web server on the port is named as one, not taken for TLS', async () => {
    const web = createServer((_request, response) => response.end('hello'));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    try {
      const { report } = await doctor({
        host: '127.0.0.1',
        port: (web.address() as AddressInfo).port,
        security: 'none',
        allowInsecure: true,
      });
      assert.equal(failed(report)?.name, 'greeting');
      assert.match(failed(report)?.summary ?? '', /speaks HTTP \(a web server\), not IMAP/);
      assert.match(failed(report)?.fix ?? '', /is not an IMAP port: IMAP listens on 993/);
    } finally {
      web.closeAllConnections();
      await new Promise((resolve) => web.close(resolve));
    }
  });

  it('a server without STARTTLS is refused rather than used in plain text', async () => {
    const { report } = await doctor({ host: 'localhost', port: plainOnly.plainPort, security: 'starttls' });
    assert.equal(failed(report)?.name, 'starttls');
    assert.match(failed(report)?.summary ?? '', /does not offer STARTTLS/);
    assert.equal(plainOnly.loginAttempts(USER.name), 0);
  });

  it('STARTTLS works end to end, and missing capabilities and mailboxes are reported', async () => {
    const { report, human } = await doctor({
      host: 'localhost',
      port: noIdle.plainPort,
      security: 'starttls',
      tls: { ca: noIdle.caFile },
      mailboxes: ['INBOX', 'Support'],
    });
    assert.deepEqual(
      report.steps.map((s) => [s.name, s.ok]),
      [
        ['dns', true],
        ['tcp', true],
        ['starttls', true],
        ['login', true],
        ['capabilities', true],
        ['mailboxes', false],
      ],
    );
    assert.match(human, /warning: no IDLE: new mail is found by polling/);
    assert.match(human, /warning: no QRESYNC: deletions are found by comparing UIDs/);
    assert.match(failed(report)?.summary ?? '', /not on the server: Support/);
    assert.match(failed(report)?.fix ?? '', /The account has: INBOX/);
  });

  it('says which message actions the rights of a watched folder forbid, where the server has ACL', async () => {
    const acl = await startDovecot([USER], { readOnlyFolders: ['Archive'] });
    try {
      const appender = await connectAppender(acl, USER.name, USER.password);
      await appender.mailboxCreate('Archive');
      await appender.logout();
      const { code, report, human } = await doctor({
        host: 'localhost',
        port: acl.tlsPort,
        tls: { ca: acl.caFile },
        mailboxes: ['INBOX', 'Archive'],
      });
      assert.equal(code, 0, 'a warning, not a failure: watching needs no rights to change');
      const rights = report.steps.find((s) => s.name === 'rights');
      assert.match(rights?.summary ?? '', /INBOX: l\w*w\w*, Archive: lr/);
      assert.deepEqual(rights?.warnings, [
        'Archive (rights "lr"): cannot mark-seen, add-flags / remove-flags, move, delete',
      ]);
      assert.match(human, /warning: Archive \(rights "lr"\): cannot mark-seen/);
    } finally {
      await acl.stop();
    }
  });
});
