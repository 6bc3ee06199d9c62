import { systemClock } from '../../adapters/system-clock.js';
import { ConfigError } from '../../config/load-config.js';
import { asksForActions } from '../../pipeline/after-delivery.js';
import { replayDeadLetters } from '../../pipeline/replay.js';
import { type Command, flag, text } from '../command.js';
import type { Target } from '../targets.js';

export const deliveriesCommand: Command = {
  name: 'deliveries',
  synopsis: '(--failed | --pending) [--json]',
  summary:
    'list dead-lettered deliveries (--failed), or those being retried with their next attempt (--pending, local mode)',
  scope: 'both',
  options: {
    failed: { type: 'boolean', default: false },
    pending: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
  async run({ values, target: openTarget, out }) {
    const target = await openTarget();
    if (flag(values, 'pending')) return listPending(target, flag(values, 'json'), out);
    if (!flag(values, 'failed')) {
      process.stderr.write('Say which: `idlehook deliveries --failed` or `--pending`.\n');
      return 2;
    }
    const letters = await target.log.listDeadLetters();
    if (flag(values, 'json')) {
      out(
        JSON.stringify(
          letters.map(({ failedAt, ...rest }) => ({ ...rest, failedAt: isoTime(failedAt) })),
          null,
          2,
        ),
      );
      return 0;
    }
    if (letters.length === 0) out('No failed deliveries.');
    for (const l of letters) {
      out(
        `${isoTime(l.failedAt)}  ${l.eventId}  ${l.eventType}  -> ${l.subscriptionId}  ` +
          `attempts=${l.attempts}  ${l.reason}`,
      );
    }
    return 0;
  },
};

export const replayCommand: Command = {
  name: 'replay',
  synopsis: '[--event ID] [--subscription ID] [--since TIME] [--until TIME]',
  summary:
    'send dead-lettered deliveries again (original webhook-id and body);\n' +
    'TIME is ISO 8601 and selects by when the delivery failed',
  scope: 'both',
  options: {
    event: { type: 'string' },
    subscription: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
  },
  async run({ values, target: openTarget, out }) {
    const target = await openTarget();
    /** Delivered letters whose subscription asks for actions this process cannot run (local mode). */
    const actionsNotRun: string[] = [];
    const results = await replayDeadLetters(
      {
        eventId: text(values, 'event'),
        subscriptionId: text(values, 'subscription'),
        since: timeOption('--since', text(values, 'since')),
        until: timeOption('--until', text(values, 'until')),
      },
      {
        log: target.log,
        attempts: target.attempts,
        subscriptionStatus: target.subscriptionStatus,
        subscriptions: new Map((await target.subscriptions()).map((s) => [s.id, s])),
        http: target.http,
        clock: systemClock,
        timeoutMs: target.timeoutMs,
        delivered:
          target.afterDelivery ??
          ((letter, subscription) => {
            if (asksForActions(letter, subscription))
              actionsNotRun.push(`${letter.eventId} -> ${subscription.id}`);
          }),
      },
    );
    for (const r of results) {
      out(
        `${r.delivered ? 'delivered' : 'failed   '}  ${r.letter.eventId} -> ${r.letter.subscriptionId}  ${r.detail}`,
      );
    }
    const failed = results.filter((r) => !r.delivered).length;
    out(`${results.length - failed} delivered, ${failed} still failed`);
    if (actionsNotRun.length > 0)
      out(
        `after-delivery actions not run for ${actionsNotRun.join(', ')}: they need the running bridge's IMAP ` +
          'connection; replay from its dashboard or API (POST /v1/dead-letters/replay) to have them run',
      );
    return failed === 0 ? 0 : 1;
  },
};

export const attemptsCommand: Command = {
  name: 'attempts',
  synopsis: 'SUBSCRIPTION [--limit N] [--json]',
  summary: "the endpoint's latest delivery attempts: status, response, duration",
  scope: 'both',
  options: { limit: { type: 'string', default: '20' }, json: { type: 'boolean', default: false } },
  async run({ values, args, target: openTarget, out, usageError }) {
    const target = await openTarget();
    const [subscriptionId] = args;
    const limit = Number(text(values, 'limit'));
    if (!subscriptionId || !Number.isInteger(limit) || limit < 1) {
      return usageError('attempts SUBSCRIPTION [--limit N] [--json]');
    }
    const list = await target.attempts.listAttempts(subscriptionId, limit);
    if (flag(values, 'json')) {
      out(
        JSON.stringify(
          list.map((a) => ({ ...a, attemptedAt: isoTime(a.attemptedAt) })),
          null,
          2,
        ),
      );
      return 0;
    }
    if (list.length === 0) out(`No delivery attempts logged for ${subscriptionId}.`);
    for (const a of list) {
      const result = a.status === undefined ? (a.error ?? 'no response') : `HTTP ${a.status}`;
      const response = a.responseExcerpt ? `  ${JSON.stringify(a.responseExcerpt.slice(0, 120))}` : '';
      out(
        `${isoTime(a.attemptedAt)}  ${a.succeeded ? 'ok    ' : 'failed'}  ${result}  ` +
          `${a.durationMs} ms  ${a.eventId} (${a.eventType}) attempt ${a.attempt}${response}`,
      );
    }
    return 0;
  },
};

/** Times in `--json` output are ISO 8601, as in the text output. */
const isoTime = (ms: number) => new Date(ms).toISOString();

/** An ISO-8601 time (e.g. 2026-11-27T10:00:00Z) as ms, or a ConfigError naming the option. */
function timeOption(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    throw new ConfigError('the command line', [
      { path: option, message: `not a time: ${value} (use ISO 8601)` },
    ]);
  }
  return time;
}

async function listPending(target: Target, json: boolean, out: (line: string) => void): Promise<number> {
  const pending = await target.retries.pending();
  if (json) {
    out(
      JSON.stringify(
        pending.map((p) => ({ ...p, nextAttemptAt: isoTime(p.nextAttemptAt) })),
        null,
        2,
      ),
    );
    return 0;
  }
  if (pending.length === 0) out('No deliveries are being retried.');
  for (const p of pending)
    out(
      `${p.eventId}  ${p.eventType}  -> ${p.subscriptionId}  attempts=${p.attempts}  next attempt ${isoTime(p.nextAttemptAt)}`,
    );
  if (pending.length > 0)
    out('An endpoint that is back: `idlehook subscriptions retry ID` retries its deliveries now.');
  return 0;
}
