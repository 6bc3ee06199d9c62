import type { Context } from 'hono';
import type { ConfigProblem } from '../config/load-config.js';

/** RFC 9457 problem details; `errors` names each bad field (`in` says where: body, query, path). */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly errors?: (ConfigProblem & { readonly in: string })[];
  readonly [extension: string]: unknown;
}

type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 422 | 500 | 503;

const TITLES = new Map<number, string>([
  [400, 'Bad request'],
  [401, 'Unauthorized'],
  [403, 'Forbidden'],
  [404, 'Not found'],
  [409, 'Conflict'],
  [413, 'Request body too large'],
  [415, 'Unsupported media type'],
  [422, 'Invalid request'],
  [500, 'Internal error'],
  [503, 'Unavailable for now'],
]);

export function problemResponse<S extends ProblemStatus>(
  c: Context,
  status: S,
  fields: Omit<Problem, 'type' | 'title' | 'status'> & { readonly title?: string } = {},
) {
  const problem: Problem = {
    type: 'about:blank',
    title: fields.title ?? TITLES.get(status) ?? 'Error',
    status,
    ...fields,
  };
  // The exact key: c.json's default is "Content-Type", and a second spelling would add a second value.
  return c.json(problem, status, { 'Content-Type': 'application/problem+json' });
}
