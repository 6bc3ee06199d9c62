// DynamoDB's partition throughput for clients in other processes (watcher tasks run as child processes): an HTTP
// proxy in front of dynalite that meters each request on a PartitionMeter and answers one past a partition's limit
// with ProvisionedThroughputExceededException, as DynamoDB does; the SDK in the child retries it.
import { createServer, request as forward, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { admit, chargeReads, type PartitionMeter } from './dynamodb-partitions.js';

export async function startDynamoDbProxy(
  target: string,
  meter: PartitionMeter,
): Promise<{ endpoint: string; requests: Map<string, number>; close(): Promise<void> }> {
  const upstream = new URL(target);
  const requests = new Map<string, number>();
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(incoming.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      requests.set(operation, (requests.get(operation) ?? 0) + 1);
      const input = JSON.parse(body.toString() || '{}') as Record<string, unknown>;
      const refused = admit(meter, operation, input);
      if (refused !== undefined) {
        outgoing.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(
          JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
            message: `The level of configured provisioned throughput for the table was exceeded (partition ${refused})`,
          }),
        );
        return;
      }
      const proxied = forward(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: incoming.method,
          path: incoming.url,
          headers: { ...incoming.headers, host: upstream.host },
        },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => parts.push(chunk));
          answer.on('end', () => {
            const text = Buffer.concat(parts);
            if (answer.statusCode === 200)
              chargeReads(meter, operation, input, JSON.parse(text.toString() || '{}'));
            outgoing.writeHead(answer.statusCode ?? 500, answer.headers).end(text);
          });
        },
      );
      proxied.on('error', () => outgoing.writeHead(502).end());
      proxied.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
