// KMS cannot run here and has no emulator on the registry: a stand-in that speaks its JSON 1.1 protocol (the real
// SDK client talks to it over HTTP) for GenerateDataKey, Encrypt and Decrypt. Like KMS it binds the encryption
// context into the ciphertext as authenticated data and refuses a Decrypt with another context, or under another
// key, with the errors KMS returns. Its ciphertext format is its own (KMS's is opaque too).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KMSClient } from '@aws-sdk/client-kms';

export interface KmsCall {
  readonly operation: string;
  readonly keyId: string;
  readonly context: Readonly<Record<string, string>>;
}

export interface KmsStandIn {
  readonly endpoint: string;
  /** The ARN of the one key it holds. */
  readonly keyArn: string;
  readonly calls: KmsCall[];
  client(): KMSClient;
  close(): Promise<void>;
}

const canonical = (context: Record<string, string>) =>
  JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1)));

export async function startKms(
  keyArn = 'arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555',
): Promise<KmsStandIn> {
  const material = randomBytes(32);
  const calls: KmsCall[] = [];
  const seal = (plaintext: Buffer, context: Record<string, string>) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', material, iv);
    cipher.setAAD(Buffer.from(canonical(context)));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from(keyArn.padEnd(128)), iv, cipher.getAuthTag(), body]);
  };
  const open = (blob: Buffer, context: Record<string, string>) => {
    const decipher = createDecipheriv('aes-256-gcm', material, blob.subarray(128, 140));
    decipher.setAAD(Buffer.from(canonical(context)));
    decipher.setAuthTag(blob.subarray(140, 156));
    return Buffer.concat([decipher.update(blob.subarray(156)), decipher.final()]);
  };
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      const operation = String(request.headers['x-amz-target'] ?? '').replace('TrentService.', '');
      const input = JSON.parse(body || '{}') as {
        KeyId?: string;
        KeySpec?: string;
        NumberOfBytes?: number;
        Plaintext?: string;
        CiphertextBlob?: string;
        EncryptionContext?: Record<string, string>;
      };
      const context = input.EncryptionContext ?? {};
      const answer = (status: number, payload: object) =>
        response
          .writeHead(status, { 'content-type': 'application/x-amz-json-1.1' })
          .end(JSON.stringify(payload));
      const fail = (type: string, message: string) => answer(400, { __type: type, message });
      const keyId = input.KeyId ?? '';
      calls.push({ operation, keyId, context });
      if (operation !== 'Decrypt' && keyId !== keyArn && !keyArn.endsWith(`/${keyId}`))
        return fail('NotFoundException', `Key '${keyId}' does not exist`);
      if (operation === 'GenerateDataKey') {
        const plaintext = randomBytes(input.KeySpec === 'AES_128' ? 16 : (input.NumberOfBytes ?? 32));
        return answer(200, {
          KeyId: keyArn,
          Plaintext: plaintext.toString('base64'),
          CiphertextBlob: seal(plaintext, context).toString('base64'),
        });
      }
      if (operation === 'Encrypt')
        return answer(200, {
          KeyId: keyArn,
          CiphertextBlob: seal(Buffer.from(input.Plaintext ?? '', 'base64'), context).toString('base64'),
        });
      if (operation === 'Decrypt') {
        const blob = Buffer.from(input.CiphertextBlob ?? '', 'base64');
        const sealedUnder = blob.subarray(0, 128).toString().trimEnd();
        if (keyId && keyId !== sealedUnder && !sealedUnder.endsWith(`/${keyId}`))
          return fail('IncorrectKeyException', 'The key ID in the request does not identify the key used');
        try {
          return answer(200, {
            KeyId: keyArn,
            Plaintext: open(blob, context).toString('base64'),
            EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
          });
        } catch {
          // What KMS answers for a wrong encryption context as for a damaged blob.
          return fail('InvalidCiphertextException', '');
        }
      }
      return fail('UnsupportedOperationException', `${operation} is not in the stand-in`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    keyArn,
    calls,
    client: () =>
      new KMSClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
