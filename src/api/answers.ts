import type { Context } from 'hono';
import type { DoctorReport } from '../domain/doctor-report.js';
import type { ManagementBackend } from '../ports/management.js';
import { problemResponse } from './problem.js';

/** The answers the resource handlers share. */

export const notFound = (c: Context, what: string) => problemResponse(c, 404, { detail: `no ${what}` });

export const readOnly = (c: Context, what: string) =>
  problemResponse(c, 409, {
    title: 'Defined in the config file',
    detail: `${what} is defined in the config file: change it there`,
  });

/** A failed doctor walk, with its report: each step, and what to fix. */
export function doctorProblem(c: Context, report: DoctorReport) {
  return problemResponse(c, 422, {
    title: 'The account does not work',
    detail: report.steps.find((s) => !s.ok)?.summary ?? 'a check failed',
    doctor: report,
  });
}

/** The stored document of an API-made item, or the answer why there is none to change. */
export async function changeable(
  c: Context,
  backend: ManagementBackend,
  kind: 'account' | 'subscription',
  id: string,
) {
  const { directory } = backend;
  const what = `${kind} "${id}"`;
  const exists = kind === 'account' ? await directory.account(id) : await directory.subscription(id);
  if (!exists) return { answer: notFound(c, what) };
  const document =
    kind === 'account' ? await directory.accountDocument(id) : await directory.subscriptionDocument(id);
  if (typeof document !== 'object' || document === null) return { answer: readOnly(c, what) };
  return { document: document as Record<string, unknown> };
}

/** The stored document with the fields of the request body over it (a field sent replaces the stored one). */
export const patched = async (c: Context, document: Record<string, unknown>, id: string) => ({
  ...document,
  ...((await c.req.json()) as Record<string, unknown>),
  id,
});
