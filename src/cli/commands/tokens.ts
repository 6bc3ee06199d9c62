import { isTokenScope, TOKEN_SCOPES } from '../../domain/api-tokens.js';
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
    const rows = list.map((t) => ({ ...t, createdAt: iso(t.createdAt), lastUsedAt: iso(t.lastUsedAt) }));
    if (flag(values, 'json')) out(JSON.stringify(rows, null, 2));
    else if (rows.length === 0) out('No API tokens. Make one with `idlehook tokens create`.');
    else
      for (const t of rows)
        out(`${t.id}  ${t.name}  ${t.scope}  created ${t.createdAt}  last used ${t.lastUsedAt ?? 'never'}`);
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
