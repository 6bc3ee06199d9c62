// Secrets Manager cannot run here and has no emulator on the registry: a stand-in that speaks its JSON 1.1
// protocol (the real SDK client talks to it over HTTP) for the calls idlehook makes, with AWS's name rule and its
// refusals of a secret scheduled for deletion.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

export interface SecretsManagerStandIn {
  readonly endpoint: string;
  /** Stores a secret directly, as an operator would have; returns its ARN. */
  put(name: string, value: string): string;
  readonly calls: string[];
  /** The names of the secrets that exist and are not scheduled for deletion. */
  live(): string[];
  /** The names scheduled for deletion, with the recovery window asked for (days). */
  readonly scheduledForDeletion: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

export async function startSecretsManager(): Promise<SecretsManagerStandIn> {
  const secrets = new Map<string, string>();
  const scheduledForDeletion = new Map<string, number>();
  const calls: string[] = [];
  const arnOf = (name: string) => `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-AbCdEf`;
  const nameOf = (id: string) =>
    id.startsWith('arn:') ? id.split(':secret:')[1]?.replace(/-\w{6}$/, '') : id;
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      const operation = String(request.headers['x-amz-target'] ?? '').replace('secretsmanager.', '');
      calls.push(operation);
      const input = JSON.parse(body || '{}') as {
        Name?: string;
        SecretId?: string;
        SecretString?: string;
        RecoveryWindowInDays?: number;
      };
      const answer = (status: number, payload: object) =>
        response
          .writeHead(status, { 'content-type': 'application/x-amz-json-1.1' })
          .end(JSON.stringify(payload));
      const fail = (type: string, message: string) => answer(400, { __type: type, message });
      const name = nameOf(String(input.Name ?? input.SecretId ?? '')) ?? '';
      if (!NAME.test(name)) return fail('ValidationException', `invalid secret name ${JSON.stringify(name)}`);
      if (operation === 'CreateSecret') {
        if (scheduledForDeletion.has(name))
          return fail(
            'InvalidRequestException',
            "You can't create this secret because a secret with this name is already scheduled for deletion.",
          );
        if (secrets.has(name)) return fail('ResourceExistsException', `${name} exists`);
        secrets.set(name, String(input.SecretString));
        return answer(200, { ARN: arnOf(name), Name: name });
      }
      if (!secrets.has(name)) return fail('ResourceNotFoundException', `Secrets Manager can't find ${name}`);
      if (operation === 'RestoreSecret') {
        scheduledForDeletion.delete(name);
        return answer(200, { ARN: arnOf(name), Name: name });
      }
      if (scheduledForDeletion.has(name))
        return fail(
          'InvalidRequestException',
          "You can't perform this operation on the secret because it was marked for deletion.",
        );
      if (operation === 'DeleteSecret') {
        const days = input.RecoveryWindowInDays ?? 30;
        if (days < 7 || days > 30)
          return fail('InvalidParameterException', 'RecoveryWindowInDays must be between 7 and 30');
        scheduledForDeletion.set(name, days);
        return answer(200, { ARN: arnOf(name), Name: name, DeletionDate: Date.now() / 1000 + days * 86_400 });
      }
      if (operation === 'GetSecretValue')
        return answer(200, { ARN: arnOf(name), Name: name, SecretString: secrets.get(name) });
      if (operation === 'PutSecretValue') {
        secrets.set(name, String(input.SecretString));
        return answer(200, { ARN: arnOf(name), Name: name });
      }
      return fail('InvalidRequestException', `${operation} is not supported by the stand-in`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    live: () => [...secrets.keys()].filter((name) => !scheduledForDeletion.has(name)),
    scheduledForDeletion,
    put: (name, value) => {
      secrets.set(name, value);
      return arnOf(name);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
