// What idlehook costs on AWS per mailbox-month, at 1,000 to 1,000,000 mailboxes: a model priced from what the
// benchmarks measured (bench/results/aws-handlers.json from `npm run bench:aws`: requests, DynamoDB units and
// handler time per message; bench/results/control-plane.json from `npm run bench:control-plane`: the control
// plane's DynamoDB units per hour), what cannot run here (assumed, and named as such below), and AWS's published
// us-east-1 prices (December 2026, ARM64, on-demand). It prints the cost table of docs/deploying-to-aws.md.
// Usage: npm run cost [-- --mailboxes 1,1000,10000,100000 --messages-per-day 50 --message-kib 50 --shape small
//   --aws-result FILE --control-plane-result FILE]
// --shape small: the construct's small-deployment shape (watcherNetwork: 'public', watcherSpot: true).
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultMailboxesPerTask } from '../infra/watcher-service.js';
import {
  type AwsHandlerFigures,
  benchResultFile,
  type ControlPlaneFigures,
  readBenchResult,
  type StageFigures,
} from './results.js';

const { values } = parseArgs({
  options: {
    mailboxes: { type: 'string', default: '1000,10000,100000,1000000' },
    'messages-per-day': { type: 'string', default: '50' },
    'message-kib': { type: 'string', default: '50' },
    shape: { type: 'string', default: 'default' },
    'aws-result': { type: 'string', default: benchResultFile('aws-handlers') },
    'control-plane-result': { type: 'string', default: benchResultFile('control-plane') },
  },
});
const handlers = readBenchResult<AwsHandlerFigures>(values['aws-result']);
const controlPlane = readBenchResult<ControlPlaneFigures>(values['control-plane-result']);
const SMALL = values.shape === 'small';
if (!SMALL && values.shape !== 'default') {
  console.error(`--shape is default or small, not "${values.shape}"`);
  process.exit(2);
}
const MESSAGES_PER_DAY = Number(values['messages-per-day']);
const MESSAGE_KIB = Number(values['message-kib']);
const HOURS = 730;

const PRICE = {
  fargateVcpuHour: 0.03238,
  fargateGbHour: 0.00356,
  natHour: 0.045,
  natGb: 0.045,
  sqsPerMillion: 0.4,
  /** FIFO queues' requests (the ingest queue) cost more than standard ones. */
  sqsFifoPerMillion: 0.5,
  lambdaPerMillion: 0.2,
  lambdaGbSecond: 0.0000133334,
  dynamoWritePerMillion: 0.625,
  dynamoReadPerMillion: 0.125,
  s3PutPerThousand: 0.005,
  s3GetPerThousand: 0.0004,
  s3GbMonth: 0.023,
  secretMonth: 0.4,
  secretCallsPer10k: 0.05,
  kmsKeyMonth: 1,
  kmsRequestsPer10k: 0.03,
  logsGb: 0.5,
  alarmMonth: 0.1,
  metricMonth: 0.3,
  dashboardMonth: 3,
  /** A public IPv4 address, per hour (each watcher task's, in the small shape). */
  publicIpv4Hour: 0.005,
  /** Fargate Spot's price as a share of on-demand: it varies by region and hour; about 0.3 in us-east-1. */
  spotShare: 0.3,
};

/** Watcher tasks as the construct runs them for this many mailboxes: 0.5 vCPU / 2 GiB from 2,000 mailboxes on. */
function watcherTasks(mailboxes: number): { count: number; vcpu: number; gb: number } {
  const small = mailboxes < 2_000;
  const memoryMiB = small ? 512 : 2048;
  const perTask = defaultMailboxesPerTask(memoryMiB);
  return {
    count: Math.max(2, Math.ceil(mailboxes / perTask)),
    vcpu: small ? 0.25 : 0.5,
    gb: memoryMiB / 1024,
  };
}

const { watcher, parse, deliver } = handlers.figures;
const requestsOf = (stage: StageFigures, ...names: string[]) =>
  names.reduce((sum, name) => sum + (stage.requestsPerMessage[name] ?? 0), 0);
const everyStage = (pick: (stage: StageFigures) => number) => pick(watcher) + pick(parse) + pick(deliver);

/** Assumed (no Lambda poller runs here): the event source mapping's receive and delete per message and queue, as in batches of 1, the worst case. */
const EVENT_SOURCE_REQUESTS = 2;
/** Assumed: AWS's in-region latency per request, and the endpoint's answer, which the local run does not have. */
const AWS_MS_PER_REQUEST = 10;
const ENDPOINT_MS = 100;
/** A function's billed time per message: its measured handler time, plus AWS's latency on each request it made. */
const lambdaMs = (stage: StageFigures) =>
  (stage.handlerMsPerMessage?.p50 ?? 0) +
  AWS_MS_PER_REQUEST * Object.values(stage.requestsPerMessage).reduce((a, b) => a + b, 0);

/** Per message: measured by bench:aws, except where marked. */
const PER_MESSAGE = {
  sqsFifoRequests: requestsOf(watcher, 'SQS SendMessageBatch', 'SQS SendMessage') + EVENT_SOURCE_REQUESTS,
  sqsRequests: requestsOf(parse, 'SQS SendMessageBatch', 'SQS SendMessage') + EVENT_SOURCE_REQUESTS,
  /** Assumed: one invocation per message and function (batches of 1, the worst case). */
  lambdaInvocations: 2,
  lambdaGbSeconds: (0.5 * (lambdaMs(parse) + lambdaMs(deliver) + ENDPOINT_MS)) / 1000, // at 512 MB
  dynamoWriteUnits: everyStage((stage) => stage.dynamoUnitsPerMessage.write),
  dynamoReadUnits: everyStage((stage) => stage.dynamoUnitsPerMessage.read),
  s3Puts: everyStage((stage) => requestsOf(stage, 'S3 PutObject')),
  s3Gets: everyStage((stage) => requestsOf(stage, 'S3 GetObject')),
  /** Assumed: one log line of about 2 KiB per function invocation. */
  logKib: 2,
};

/** Per mailbox, per month, while idle: IMAP keep-alive through the NAT gateway (a check a minute, IDLE renewed every 4 minutes). */
const IDLE_IMAP_MIB_PER_MAILBOX = (43_800 * 300 + 10_950 * 200) / 1024 / 1024;
/**
 * Account status reports (the dashboard in AWS mode), per account and day: one per message at most every 5 minutes
 * (288 a day), a refresh every 6 hours, and about two changes of state (reconnects). Not in the control-plane run
 * (its stand-in sessions receive no mail).
 */
const STATUS_REPORTS_PER_DAY = Math.min(MESSAGES_PER_DAY, 288) + 4 + 2;

/**
 * The control plane's DynamoDB units, from bench:control-plane's quiet steady state. Leases, shard versions and
 * tallies are read and written per task whatever the accounts (so priced per task); the rest (shard re-reads,
 * folder trees) per mailbox.
 */
const PER_TASK_PARTITIONS = new Set(['LEASES', 'ACCOUNT_VERSIONS', 'STATUS_TALLIES']);
const controlPlaneUnits = (() => {
  const { accounts, tasks, steady } = controlPlane.figures;
  const perTaskHour = { read: 0, write: 0 };
  const perMailboxHour = { read: 0, write: 0 };
  for (const [partition, units] of Object.entries(steady.unitsPerMailboxHour)) {
    const perTask = PER_TASK_PARTITIONS.has(partition);
    const into = perTask ? perTaskHour : perMailboxHour;
    const scale = perTask ? accounts / tasks : 1;
    into.read += units.read * scale;
    into.write += units.write * scale;
  }
  return { perTaskHour, perMailboxHour };
})();

function costs(mailboxes: number): Map<string, number> {
  const messages = mailboxes * MESSAGES_PER_DAY * 30.4;
  const tasks = watcherTasks(mailboxes);
  const mailGb = (messages * MESSAGE_KIB) / 1024 / 1024;
  return new Map([
    [
      SMALL ? 'Fargate watcher tasks (Spot)' : 'Fargate watcher tasks',
      tasks.count *
        HOURS *
        (tasks.vcpu * PRICE.fargateVcpuHour + tasks.gb * PRICE.fargateGbHour) *
        (SMALL ? PRICE.spotShare : 1),
    ],
    SMALL
      ? ['Public IPv4 addresses (one per task; no NAT gateway)', tasks.count * HOURS * PRICE.publicIpv4Hour]
      : [
          'NAT gateway (IMAP traffic; S3 and DynamoDB through gateway endpoints)',
          HOURS * PRICE.natHour + (mailGb + (mailboxes * IDLE_IMAP_MIB_PER_MAILBOX) / 1024) * PRICE.natGb,
        ],
    [
      'SQS (ingest FIFO, delivery standard)',
      (messages * PER_MESSAGE.sqsFifoRequests * PRICE.sqsFifoPerMillion +
        (messages * PER_MESSAGE.sqsRequests + 1_300_000) * PRICE.sqsPerMillion) /
        1e6,
    ],
    [
      'Lambda',
      (messages * PER_MESSAGE.lambdaInvocations * PRICE.lambdaPerMillion) / 1e6 +
        messages * PER_MESSAGE.lambdaGbSeconds * PRICE.lambdaGbSecond,
    ],
    [
      'DynamoDB, per message',
      (messages * PER_MESSAGE.dynamoWriteUnits * PRICE.dynamoWritePerMillion +
        messages * PER_MESSAGE.dynamoReadUnits * PRICE.dynamoReadPerMillion) /
        1e6,
    ],
    [
      'DynamoDB, control plane (leases, shard versions and reads, tallies, folder trees)',
      (HOURS *
        (tasks.count *
          (controlPlaneUnits.perTaskHour.write * PRICE.dynamoWritePerMillion +
            controlPlaneUnits.perTaskHour.read * PRICE.dynamoReadPerMillion) +
          mailboxes *
            (controlPlaneUnits.perMailboxHour.write * PRICE.dynamoWritePerMillion +
              controlPlaneUnits.perMailboxHour.read * PRICE.dynamoReadPerMillion))) /
        1e6,
    ],
    [
      'DynamoDB, account status reports (dashboard)',
      (mailboxes * STATUS_REPORTS_PER_DAY * 30.4 * PRICE.dynamoWritePerMillion) / 1e6,
    ],
    [
      'S3 (raw mail, 30 days kept)',
      (messages * PER_MESSAGE.s3Puts * PRICE.s3PutPerThousand +
        messages * PER_MESSAGE.s3Gets * PRICE.s3GetPerThousand) /
        1000 +
        mailGb * PRICE.s3GbMonth,
    ],
    [
      'CloudWatch (alarms, metrics, dashboard, logs)',
      // 15 alarms in the template (14 without the NAT gateway's) and the 2 of the watcher's target-tracking
      // scaling; the watcher's 2 custom metrics and the functions' 10 (Powertools EMF, those a healthy stack emits).
      (SMALL ? 16 : 17) * PRICE.alarmMonth +
        12 * PRICE.metricMonth +
        PRICE.dashboardMonth +
        ((messages * PER_MESSAGE.logKib) / 1024 / 1024) * PRICE.logsGb,
    ],
    [
      // Credentials are sealed in the account items: one Decrypt of the stack's wrapping key per process and hour
      // (the tasks, and about as many warm API function instances), whatever the number of accounts.
      'KMS (the credentials key; one Decrypt per task and hour, not per account)',
      PRICE.kmsKeyMonth + ((2 * tasks.count * HOURS) / 10_000) * PRICE.kmsRequestsPer10k,
    ],
    [
      // Signing secrets stay in Secrets Manager: a handful per deployment (5 assumed, and the blob link key), read
      // by warm deliver instances every 5 minutes.
      "Secrets Manager (5 subscriptions' signing secrets and the link key)",
      6 * PRICE.secretMonth + ((6 * HOURS * 12 * 10) / 10_000) * PRICE.secretCallsPer10k,
    ],
  ]);
}

const sizes = values.mailboxes.split(',').map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < 1)) {
  console.error(`--mailboxes takes whole numbers separated by commas, not "${values.mailboxes}"`);
  process.exit(2);
}
const tables = sizes.map(costs);
const money = (n: number) => (n >= 100 ? `$${n.toFixed(0)}` : `$${n.toFixed(2)}`);
const perMailbox = (n: number, mailboxes: number) => `$${(n / mailboxes).toFixed(4)}`;
console.log(
  `\nidlehook on AWS per month${SMALL ? ', small-deployment shape' : ''}, ${MESSAGES_PER_DAY} messages of ${MESSAGE_KIB} KiB per mailbox and day (per mailbox-month in brackets)\n`,
);
const source = (file: string, result: { measuredAt: string; machine: string }) =>
  `${relative(process.cwd(), file)} (${result.measuredAt.slice(0, 10)}, ${result.machine})`;
console.log(
  `measured inputs: ${source(values['aws-result'], handlers)}; ${source(values['control-plane-result'], controlPlane)} at ${controlPlane.figures.accounts.toLocaleString('en-US')} accounts and ${controlPlane.figures.tasks} tasks\n`,
);
console.log(`| item | ${sizes.map((n) => `${n.toLocaleString('en-US')} mailboxes`).join(' | ')} |`);
console.log(`| --- | ${sizes.map(() => '---').join(' | ')} |`);
for (const item of tables[0]?.keys() ?? []) {
  const cells = tables.map(
    (t, i) => `${money(t.get(item) ?? 0)} (${perMailbox(t.get(item) ?? 0, sizes[i] ?? 1)})`,
  );
  console.log(`| ${item} | ${cells.join(' | ')} |`);
}
const totals = tables.map((t) => [...t.values()].reduce((a, b) => a + b, 0));
console.log(
  `| **total** | ${totals.map((total, i) => `**${money(total)} (${perMailbox(total, sizes[i] ?? 1)})**`).join(' | ')} |`,
);
console.log(
  `\nwatcher tasks: ${sizes
    .map((n) => {
      const t = watcherTasks(n);
      return `${n.toLocaleString('en-US')}: ${t.count} x ${t.vcpu} vCPU / ${t.gb} GiB`;
    })
    .join('; ')}`,
);
