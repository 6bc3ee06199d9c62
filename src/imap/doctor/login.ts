import { ImapFlow } from 'imapflow';
import type { AccountConfig } from '../../config/config.js';
import type { DoctorStep } from '../../domain/doctor-report.js';
import { errorMessage } from '../../domain/errors.js';
import { isMailboxPattern, resolveMailboxes } from '../../domain/folder-tree.js';
import type { OAuth2TokenStore, TokenEndpoint } from '../../ports/watcher.js';
import { type ImapCredentials, imapClientOptions } from '../client-options.js';
import { explainLoginRejection } from '../connection-failure.js';
import { listFolders } from '../folder-listing.js';
import { OAuth2Tokens } from '../oauth2-tokens.js';
import { rightsStep } from './rights.js';
import { fail } from './steps.js';

async function credentialsFor(
  account: AccountConfig,
  tokenStore: OAuth2TokenStore | undefined,
  tokenEndpoint: TokenEndpoint,
): Promise<ImapCredentials> {
  if (account.auth.kind === 'password') return { pass: account.auth.password };
  try {
    const clock = { now: () => Date.now() };
    const tokens = new OAuth2Tokens(account.id, account.auth, clock, tokenStore, tokenEndpoint);
    return { accessToken: (await tokens.accessToken()).accessToken };
  } catch (error) {
    return fail(
      {
        name: 'login',
        summary: `no OAuth2 access token: ${errorMessage(error)}`,
        fix: 'Check oauth2.tokenUrl, clientId, clientSecret and refreshToken; a revoked refresh token needs a new authorization.',
      },
      error,
    );
  }
}

export async function loginAndInspect(
  account: AccountConfig,
  steps: DoctorStep[],
  options: {
    readonly tokenStore?: OAuth2TokenStore;
    readonly tokenEndpoint: TokenEndpoint;
    readonly credentialSource?: string;
  },
): Promise<void> {
  const credentials = await credentialsFor(account, options.tokenStore, options.tokenEndpoint);
  const client = new ImapFlow({ ...imapClientOptions(account, credentials), connectionTimeout: 15_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    client.close();
    const e = error as {
      authenticationFailed?: boolean;
      serverResponseCode?: string;
      responseText?: string;
      message?: string;
    };
    const server = [e.serverResponseCode, e.responseText].filter(Boolean).join(' ') || (e.message ?? '');
    if (!e.authenticationFailed) {
      return fail({
        name: 'login',
        summary: `the connection failed before the login: ${server}`,
        fix: 'Run the doctor again; if it persists, check the server.',
      });
    }
    const rejection = explainLoginRejection(server);
    return fail({
      name: 'login',
      summary: `${account.host} rejected the login for ${account.user}: ${rejection.summary} (server said: ${server})`,
      fix: options.credentialSource
        ? `${rejection.fix} The ${account.auth.kind === 'oauth2' ? 'refresh token' : 'password'} came from ${options.credentialSource}.`
        : rejection.fix,
      details: { serverResponse: server },
    });
  }
  steps.push({ name: 'login', ok: true, summary: `logged in as ${account.user} (one attempt)` });
  try {
    const capabilities = client.capabilities;
    const has = (name: string) => capabilities.has(name);
    const warnings = [
      ...(has('IDLE')
        ? []
        : [`no IDLE: new mail is found by polling every imap.checkIntervalSeconds, not pushed`]),
      ...(has('CONDSTORE') ? [] : ['no CONDSTORE: message.flags_changed cannot be announced']),
      ...(has('QRESYNC')
        ? []
        : ['no QRESYNC: deletions are found by comparing UIDs (one UID SEARCH per session and per expunge)']),
    ];
    steps.push({
      name: 'capabilities',
      ok: true,
      summary: ['IDLE', 'CONDSTORE', 'QRESYNC', 'MOVE', 'UIDPLUS']
        .map((c) => `${c} ${has(c) ? 'yes' : 'no'}`)
        .join(', '),
      ...(warnings.length > 0 ? { warnings } : {}),
      details: { capabilities: [...capabilities.keys()] },
    });
    const { folders } = await listFolders(client);
    const paths = folders.map((f) => f.path);
    const watched = resolveMailboxes(account.mailboxes, folders);
    const exactNames = account.mailboxes.filter((m) => !isMailboxPattern(m));
    const missing = exactNames.filter(
      (m) => !paths.some((p) => p === m || (m.toUpperCase() === 'INBOX' && p.toUpperCase() === 'INBOX')),
    );
    const unmatched = account.mailboxes.filter(
      (pattern) => isMailboxPattern(pattern) && resolveMailboxes([pattern], folders).length === 0,
    );
    if (missing.length > 0) {
      return fail({
        name: 'mailboxes',
        summary: `not on the server: ${missing.join(', ')}`,
        fix: `Mailbox names are case-sensitive and include their parents (e.g. "INBOX/Support" or "[Gmail]/Sent Mail"). The account has: ${paths.join(', ')}`,
      });
    }
    const limit = account.connectionLimit;
    const count = watched.length;
    const mailboxWarnings = [
      ...unmatched.map((pattern) => `${pattern} matches no folder yet (it is watched once one appears)`),
      ...(limit !== undefined && count > limit
        ? [
            `the provider allows ${limit} connections at once: ${limit - 1} mailboxes get IDLE, the other ${count - limit + 1} are polled every imap.checkIntervalSeconds`,
          ]
        : []),
    ];
    steps.push({
      name: 'mailboxes',
      ok: true,
      summary:
        count === 1
          ? `${watched[0]} exists (1 connection when watched)`
          : `${watched.join(', ')} exist (${count} connections when watched)`,
      ...(mailboxWarnings.length > 0 ? { warnings: mailboxWarnings } : {}),
    });
    steps.push(await rightsStep(client, watched));
  } finally {
    await client.logout().catch(() => client.close());
  }
}
