/**
 * Parses a secret stored as JSON. JSON.parse's own error quotes the start of its input, which here is the secret
 * itself: the error says only which secret is malformed.
 */
export function parseSecretJson<T>(text: string, secretName: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`secret ${secretName} is not valid JSON (its content is not shown: it is a secret)`);
  }
}
