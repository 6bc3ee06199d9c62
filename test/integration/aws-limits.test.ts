import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { S3BlobStore } from '../../src/adapters/aws/s3-blob-store.js';
import { SqsQueue, sqsGroupId } from '../../src/adapters/aws/sqs-queue.js';
import { startDynamoDb, startSqsAndS3 } from '../support/aws-emulators.js';
import { AwsLimitError } from '../support/aws-limits.js';

describe('the emulators refuse what AWS refuses', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let aws: Awaited<ReturnType<typeof startSqsAndS3>>;
  let table: string;
  let fifoUrl: string;
  before(async () => {
    dynamo = await startDynamoDb();
    aws = await startSqsAndS3();
    table = await dynamo.createTable();
    fifoUrl = await aws.createQueue('limits.fifo', { FifoQueue: 'true', MaximumMessageSize: '1048576' });
  });
  after(async () => {
    await dynamo?.stop();
    await aws?.stop();
  });

  const send = (entries: Record<string, unknown>[]) =>
    aws.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: fifoUrl,
        Entries: entries.map((e, i) => ({
          Id: String(i),
          MessageBody: 'x',
          MessageDeduplicationId: `d${i}`,
          ...e,
        })),
      }) as never,
    );

  it('SQS: group ids outside ASCII punctuation or over 128 characters, 11 entries, over 1 MiB', async () => {
    for (const group of ['Sent Items', '[Gmail]/Sent Mail', 'Frösche', 'x'.repeat(129), ''])
      await assert.rejects(send([{ MessageGroupId: group }]), AwsLimitError, group);
    await assert.rejects(send(Array.from({ length: 11 }, () => ({ MessageGroupId: 'g' }))), AwsLimitError);
    const half = 'x'.repeat(600 * 1024);
    await assert.rejects(send([{ MessageGroupId: 'g', MessageBody: `${half}${half}` }]), AwsLimitError);
    await assert.rejects(
      send([
        { MessageGroupId: 'g', MessageBody: half },
        { MessageGroupId: 'g', MessageBody: half },
      ]),
      /batch of \d+ bytes/,
    );
    await send([{ MessageGroupId: 'support#INBOX' }]);
  });

  it('DynamoDB: items over 400 KB and sort keys over 1,024 bytes', async () => {
    const put = (item: Record<string, string>) =>
      dynamo.client.send(
        new PutItemCommand({
          TableName: table,
          Item: Object.fromEntries(Object.entries(item).map(([k, v]) => [k, { S: v }])),
        }),
      );
    await assert.rejects(put({ pk: 'a', sk: 'b', big: 'x'.repeat(401 * 1024) }), AwsLimitError);
    await assert.rejects(put({ pk: 'a', sk: 'y'.repeat(1025) }), /sk over 1024 bytes/);
    await put({ pk: 'a', sk: 'b', fine: 'x'.repeat(1000) });
  });

  it('S3: keys over 1,024 bytes', async () => {
    const bucket = await aws.createBucket('limits');
    await assert.rejects(
      aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k'.repeat(1025), Body: 'x' })),
      AwsLimitError,
    );
  });

  it('SqsQueue sends mail of any folder name: its group ids are always valid and stable', async () => {
    const overflow = new S3BlobStore(aws.s3, await aws.createBucket('overflow'));
    const folders = ['Sent Items', '[Gmail]/Sent Mail', 'Frösche/Über', `${'Deep/'.repeat(60)}Folder`];
    const queue = new SqsQueue<{ mailbox: string }>(aws.sqs, fifoUrl, {
      fifo: true,
      groupOf: (body) => `support#${body.mailbox}`,
      overflow,
    });
    await queue.send(folders.map((mailbox) => ({ deduplicationKey: `k-${mailbox}`, body: { mailbox } })));
    assert.equal(sqsGroupId('support#Sent Items'), sqsGroupId('support#Sent Items'));
    assert.notEqual(sqsGroupId('support#Sent Items'), sqsGroupId('support#sent items'));
    assert.match(sqsGroupId('support#Frösche'), /^[A-Za-z0-9_-]{43}$/);
  });
});
