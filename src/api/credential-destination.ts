import type { ConfigProblem } from '../config/load-config.js';

/** The account fields that decide where its stored password or OAuth2 tokens are sent. */
const DESTINATION_FIELDS = ['provider', 'host', 'port', 'security', 'tls', 'user', 'allowInsecure'] as const;

const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);

/**
 * A change that would send the stored credentials somewhere new (another host, port, security, TLS settings,
 * user or OAuth2 token URL) must carry the credentials itself: otherwise one API token could point an account
 * at a server of its choosing and have the doctor (or the watcher) log in there with the stored password. Returns
 * the problem naming the field, or undefined when the change is safe.
 */
export function unconfirmedDestinationChange(
  stored: Readonly<Record<string, unknown>>,
  given: Readonly<Record<string, unknown>>,
): ConfigProblem | undefined {
  const storedOauth2 = asRecord(stored.oauth2);
  const givenOauth2 = asRecord(given.oauth2);
  const moved = DESTINATION_FIELDS.find((field) => field in given && differs(given[field], stored[field]));
  const tokenUrlMoved =
    storedOauth2 !== undefined &&
    givenOauth2 !== undefined &&
    differs(givenOauth2.tokenUrl, storedOauth2.tokenUrl);
  if (moved === undefined && !tokenUrlMoved) return undefined;
  const what = moved ?? 'oauth2.tokenUrl';
  if (storedOauth2 !== undefined) {
    if (typeof givenOauth2?.refreshToken === 'string') return undefined;
    return {
      path: 'oauth2.refreshToken',
      message: `changing "${what}" needs the refresh token in the same request: the stored one is never sent to a new destination`,
    };
  }
  if (typeof given.password === 'string') return undefined;
  return {
    path: 'password',
    message: `changing "${what}" needs the password in the same request: the stored one is never sent to a new destination`,
  };
}

function asRecord(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}
