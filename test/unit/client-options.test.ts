import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rootCertificates } from 'node:tls';
import { imapClientOptions } from '../../src/imap/client-options.js';
import { accountConfig } from '../support/accounts.js';

/** Any well-formed CA certificate will do as the extra one. */
const EXTRA_CA = rootCertificates[0] ?? '';

describe('imapClientOptions', () => {
  it('shares one TLS context among the connections that trust the same extra CA', () => {
    const pem = EXTRA_CA;
    const contextOf = (id: string, caPem: string | undefined) =>
      (
        imapClientOptions(accountConfig({ id, tls: { ca: caPem, servername: undefined } }), { pass: 'p' })
          .tls as {
          secureContext?: unknown;
        }
      ).secureContext;
    const first = contextOf('a', pem);
    assert.ok(first, 'a context carrying the extra CA');
    assert.equal(contextOf('b', pem), first, 'the same object for another account with that CA');
    assert.equal(contextOf('c', undefined), undefined, "without an extra CA, Node's default roots");
  });

  it('verifies certificates and refuses TLS older than 1.2', () => {
    const { tls } = imapClientOptions(accountConfig(), { pass: 'p' });
    assert.equal(tls?.rejectUnauthorized, true);
    assert.equal(tls?.minVersion, 'TLSv1.2');
  });
});
