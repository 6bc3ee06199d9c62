import { isTokenScope, LOGIN_CODE_LIFETIME_MS, TOKEN_SCOPES } from '../../domain/api-tokens.js';
import { type Command, flag, text } from '../command.js';

export const createTokenCommand: Command = {
  name: 'tokens create',
  synopsis: '[--name NAME] [--scope read|full]',
  summary:
    'make a management API token (scope read: the GET routes only; full, the default: every route); it is printed once, and only its hash is kept',
  scope: 'both',
  options: { name: { type: 'string', default: 'api' }, scope: { type: 'string', default: 'full' } },
  async run({ values, target: openTarget, out, usageError }) {
    const scope = text(values, 'scope') ?? 'full';
    if (!isTokenScope(scope)) {
      process.stderr.write(`--scope is one of ${TOKEN_SCOPES.join(', ')}, not "${scope}".\n`);
      return usageError('tokens create [--name NAME] [--scope read|full]');
    }
    const target = await openTarget();
    const { id, token } = await target.apiTokens.create(text(values, 'name') ?? 'api', scope);
    out(token);
    process.stderr.write(`Token ${id} (${scope}) created. Keep it now: it cannot be shown again.\n`);
    return 0;
  },
};

export const listTokensCommand: Command = {
  name: 'tokens list',
  synopsis: '[--json]',
  summary: 'the management API tokens: id, name, created, last used (never the tokens)',
  scope: 'both',
  options: { json: { type: 'boolean', default: false } },
  async run({ values, target: openTarget, out }) {
    const list = await (await openTarget()).apiTokens.list();
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    const rows = list.map((t) => ({
      ...t,
      createdAt: iso(t.createdAt),
      lastUsedAt: iso(t.lastUsedAt),
      expiresAt: iso(t.expiresAt),
    }));
    if (flag(values, 'json')) out(JSON.stringify(rows, null, 2));
    else if (rows.length === 0) out('No API tokens. Make one with `idlehook tokens create`.');
    else
      for (const t of rows)
        out(
          `${t.id}  ${t.name}  ${t.scope}  created ${t.createdAt}  last used ${t.lastUsedAt ?? 'never'}${t.expiresAt ? `  expires ${t.expiresAt}` : ''}`,
        );
    return 0;
  },
};

export const revokeTokenCommand: Command = {
  name: 'tokens revoke',
  synopsis: 'ID',
  summary: 'revoke a management API token at once',
  scope: 'both',
  async run({ args, target: openTarget, out, usageError }) {
    const [id] = args;
    if (!id) return usageError('tokens revoke ID');
    if (!(await (await openTarget()).apiTokens.revoke(id))) {
      process.stderr.write(`No token ${id} (see \`idlehook tokens list\`).\n`);
      return 1;
    }
    out(`Token ${id} revoked.`);
    return 0;
  },
};

export const dashboardCommand: Command = {
  name: 'dashboard',
  synopsis: '[--scope read|full]',
  summary:
    'print a login link for the dashboard: good once, for 10 minutes; the browser that opens it gets a token (scope full by default) that lasts 12 hours',
  scope: 'both',
  options: { scope: { type: 'string', default: 'full' } },
  async run({ values, target: openTarget, out, usageError }) {
    const scope = text(values, 'scope') ?? 'full';
    if (!isTokenScope(scope)) {
      process.stderr.write(`--scope is one of ${TOKEN_SCOPES.join(', ')}, not "${scope}".\n`);
      return usageError('dashboard [--scope read|full]');
    }
    const target = await openTarget();
    // Local mode without a token: the dashboard is open on this machine, and a login would close it to others.
    if (!target.aws && !(await target.apiTokens.any())) {
      out(target.dashboardUrl ?? '/dashboard');
      process.stderr.write(
        'No API token exists yet: the dashboard is open to this machine without a login.\n',
      );
      return 0;
    }
    const code = await target.apiTokens.createLoginCode(scope, Date.now() + LOGIN_CODE_LIFETIME_MS);
    out(`${target.dashboardUrl ?? '<the stack output DashboardUrl>'}#login=${code}`);
    process.stderr.write(
      `Open it within ${LOGIN_CODE_LIFETIME_MS / 60_000} minutes; it works once (a ${scope} token for that browser tab).\n`,
    );
    return 0;
  },
};
