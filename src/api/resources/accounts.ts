import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { parseAccountDocument } from '../../config/load-config.js';
import type { ManagementBackend } from '../../ports/management.js';
import { changeable, doctorProblem, notFound, patched, readOnly } from '../answers.js';
import {
  AccountInput,
  AccountPatch,
  AccountSchema,
  EXAMPLES,
  IdParam,
  json,
  jsonBody,
  needs,
  PageQuery,
  page,
  problems,
} from '../contract.js';
import { unconfirmedDestinationChange } from '../credential-destination.js';
import { problemResponse } from '../problem.js';
import { accountView } from '../views.js';

export const listAccountsRoute = createRoute({
  operationId: 'listAccounts',
  method: 'get',
  path: '/v1/accounts',
  ...needs('read'),
  summary: 'List accounts, with their mailboxes’ state',
  request: { query: PageQuery },
  responses: {
    200: json(page(AccountSchema, 'AccountPage'), 'a page of accounts', {
      data: [EXAMPLES.account],
      nextCursor: null,
    }),
    ...problems(401, 422),
  },
});

export const createAccountRoute = createRoute({
  operationId: 'createAccount',
  method: 'post',
  path: '/v1/accounts',
  ...needs('full'),
  summary: 'Create an account; the doctor checks it first',
  description:
    'The id is chosen by the client, so a retried create cannot make a second account: it answers 409. ' +
    'Unless `check=false`, the connection is tried (DNS, TCP, TLS, login, mailboxes) and a failure answers 422 ' +
    'with the doctor’s report. Secrets never come back out of the API.',
  request: {
    query: z.object({ check: z.enum(['true', 'false']).default('true') }),
    body: jsonBody(AccountInput, EXAMPLES.accountInput),
  },
  responses: {
    201: json(AccountSchema, 'created', EXAMPLES.account),
    ...problems(400, 401, 403, 409, 413, 415, 422),
  },
});

export const getAccountRoute = createRoute({
  operationId: 'getAccount',
  method: 'get',
  path: '/v1/accounts/{id}',
  ...needs('read'),
  summary: 'One account, with its mailboxes’ state, last error and next login attempt',
  request: { params: IdParam },
  responses: { 200: json(AccountSchema, 'the account', EXAMPLES.account), ...problems(401, 404, 422) },
});

export const deleteAccountRoute = createRoute({
  operationId: 'deleteAccount',
  method: 'delete',
  path: '/v1/accounts/{id}',
  ...needs('full'),
  summary: 'Delete an account: its connections close, and no more events come from it',
  request: { params: IdParam },
  responses: { 204: { description: 'deleted' }, ...problems(401, 403, 404, 409, 422) },
});

export const updateAccountRoute = createRoute({
  operationId: 'updateAccount',
  method: 'patch',
  path: '/v1/accounts/{id}',
  ...needs('full'),
  summary: 'Change an account: send the fields to change; the doctor checks the result first',
  description:
    'Fields sent replace the stored ones (an object such as `tls` as a whole); the id cannot change. The sessions ' +
    'reconnect with the new settings. Unless `check=false`, a failing check answers 422 with the doctor’s report.',
  request: {
    params: IdParam,
    query: z.object({ check: z.enum(['true', 'false']).default('true') }),
    body: jsonBody(AccountPatch, EXAMPLES.accountPatch),
  },
  responses: {
    200: json(AccountSchema, 'the account as changed'),
    ...problems(400, 401, 403, 404, 409, 413, 415, 422),
  },
});

/** Registers the accounts routes' handlers. */
export function registerAccounts(app: OpenAPIHono, backend: ManagementBackend): void {
  app.openapi(listAccountsRoute, async (c) => {
    const { data, nextCursor } = await backend.directory.accountPage(c.req.valid('query'));
    const statuses = await backend.accountStatusesOf(data.map((a) => a.value.id));
    return c.json(
      { data: data.map((a) => accountView(backend, a, statuses.get(a.value.id))), nextCursor },
      200,
    );
  });
  app.openapi(createAccountRoute, async (c) => {
    const document: unknown = await c.req.json();
    const account = parseAccountDocument(document, 'the request body');
    if (await backend.directory.account(account.id))
      return problemResponse(c, 409, { detail: `an account with id "${account.id}" exists` });
    if (c.req.valid('query').check === 'true') {
      const report = await backend.checkAccount(account);
      if (!report.ok) return doctorProblem(c, report);
    }
    if (!(await backend.directory.addAccount(document, account)))
      return problemResponse(c, 409, { detail: `an account with id "${account.id}" exists` });
    await backend.accountsChanged();
    return c.json(accountView(backend, { value: account, origin: 'api' }, undefined), 201);
  });
  app.openapi(getAccountRoute, async (c) => {
    const { id } = c.req.valid('param');
    const account = await backend.directory.account(id);
    return account
      ? c.json(accountView(backend, account, await backend.accountStatus(id)), 200)
      : notFound(c, `account "${id}"`);
  });
  app.openapi(deleteAccountRoute, async (c) => {
    const { id } = c.req.valid('param');
    const outcome = await backend.directory.removeAccount(id);
    if (outcome === 'not-found') return notFound(c, `account "${id}"`);
    if (outcome === 'read-only') return readOnly(c, `account "${id}"`);
    await backend.accountsChanged();
    return c.body(null, 204);
  });
  app.openapi(updateAccountRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { document, answer } = await changeable(c, backend, 'account', id);
    if (!document) return answer;
    const unconfirmed = unconfirmedDestinationChange(
      document,
      (await c.req.json()) as Record<string, unknown>,
    );
    if (unconfirmed)
      return problemResponse(c, 422, {
        detail: 'the change would send the stored credentials to a new destination; see errors',
        errors: [{ in: 'body', ...unconfirmed }],
      });
    const changed = await patched(c, document, id);
    const account = parseAccountDocument(changed, 'the request body');
    if (c.req.valid('query').check === 'true') {
      const report = await backend.checkAccount(account);
      if (!report.ok) return doctorProblem(c, report);
    }
    if (!(await backend.directory.replaceAccount(changed, account))) return notFound(c, `account "${id}"`);
    await backend.accountsChanged();
    return c.json(
      accountView(backend, { value: account, origin: 'api' }, await backend.accountStatus(id)),
      200,
    );
  });
}
