import { errorMessage } from '../domain/errors.js';
import type { MessageCoordinates } from '../domain/events.js';
import {
  type ActionCommand,
  type ActionOutcome,
  type ActionStep,
  type MessageAction,
  requestCommand,
  type StepsResult,
} from '../domain/message-actions.js';
import { shardOf } from '../domain/shard-leases.js';
import type { Clock, Logger } from '../ports/services.js';
import type { ActionCommandInbox, ActionCommandOutbox, LeaseFence } from '../ports/watcher.js';

/** Runs one action on the account's connection; undefined when no connection to the account is had. */
export type ActOnMessage = (
  message: MessageCoordinates,
  action: MessageAction,
  requestId: string,
) => Promise<ActionOutcome | undefined>;

/** The pause before trying a step again whose server could not be reached. */
const PAUSE_MS = 5_000;

/**
 * Runs the steps in order, each tried up to `tries` times while its server cannot be reached; stops at the first
 * that is not done (a move after a refused flag change would leave the message where nobody looks for it).
 */
async function runSteps(
  message: MessageCoordinates,
  steps: readonly ActionStep[],
  tries: number,
  act: ActOnMessage,
  pauseMs = PAUSE_MS,
): Promise<StepsResult> {
  const outcomes: ActionOutcome[] = [];
  for (const { action, requestId } of steps) {
    let outcome: ActionOutcome | undefined;
    let unreached = 'no connection to the account';
    for (let attempt = 1; !outcome && attempt <= tries; attempt++) {
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      try {
        outcome = await act(message, action, requestId);
      } catch (error) {
        unreached = errorMessage(error);
      }
    }
    if (!outcome) return { outcomes, unreached };
    outcomes.push(outcome);
    if (outcome.kind !== 'done') break;
  }
  return { outcomes };
}

/** Why the steps after the outcomes were not run; undefined when every step was done. */
function notDoneReason(result: StepsResult): string | undefined {
  if (result.unreached !== undefined) return `the server could not be reached: ${result.unreached}`;
  const last = result.outcomes.at(-1);
  return last && last.kind !== 'done' ? `${last.kind}: ${last.detail}` : undefined;
}

/** Runs a command's steps (runSteps) and logs what they came to: each step on one line would be noise. */
export async function runCommand(
  command: ActionCommand,
  act: ActOnMessage,
  logger: Logger,
  pauseMs = PAUSE_MS,
): Promise<StepsResult> {
  const result = await runSteps(command.message, command.steps, command.tries, act, pauseMs);
  logCommandResult(command, result, logger);
  return result;
}

function logCommandResult(command: ActionCommand, result: StepsResult, logger: Logger): void {
  const { account, mailbox, uid } = command.message;
  const why = notDoneReason(result);
  if (why === undefined) logger.info('message actions done', { account, command: command.id });
  else
    logger.warn('message actions not done; the rest of them skipped', {
      account,
      mailbox,
      uid,
      command: command.id,
      done: result.outcomes.filter((o) => o.kind === 'done').length,
      of: command.steps.length,
      why,
    });
}

/** A command no task ran within this long is closed unrun: whoever filed it has long stopped waiting. */
export const COMMAND_EXPIRY_MS = 10 * 60_000;

/** How often the runner looks whether a command was filed (it reads counts the account listing already read). */
const LOOK_EVERY_MS = 500;
/** How often a shard whose commands wait for an account this task does not watch yet is read again. */
const WAITING_LOOK_EVERY_MS = 5_000;

export interface ActionCommandRunnerDependencies {
  readonly inbox: ActionCommandInbox;
  /** Per shard, a count that moves whenever a command is filed there (read with the shards' versions). */
  readonly filedCounts: () => ReadonlyMap<number, number>;
  /** The shards this task holds now. */
  readonly heldShards: () => readonly number[];
  readonly shardCount: number;
  /** The lease to claim a command under (undefined where one process owns everything). */
  readonly lease: (accountId: string) => LeaseFence | undefined;
  /** Whether this task watches the account now (it has listed it and holds its shard). */
  readonly holds: (accountId: string) => boolean;
  readonly act: ActOnMessage;
  readonly taskId: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly pauseMs?: number;
}

/**
 * The watcher task's side of action commands (AWS mode): when a shard it holds shows a command filed, reads the
 * shard's pending commands, claims each for an account it watches under that shard's lease, runs it on the
 * account's connection and stores the result. A command for an account not watched here yet is looked at again
 * at every tick until it is, another task claims it, or it expires.
 */
export class ActionCommandRunner {
  private readonly seen = new Map<number, number>();
  /** Shards with a command left for an account this task had not started watching yet. */
  private waiting = new Set<number>();
  private nextWaitingLookAt = 0;
  private readonly running = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private looking: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly deps: ActionCommandRunnerDependencies) {}

  start(): void {
    this.timer = setInterval(() => {
      this.looking = this.looking.then(() =>
        this.look().catch((error: unknown) =>
          this.deps.logger.error('reading action commands failed; trying again', {
            error: errorMessage(error),
          }),
        ),
      );
    }, LOOK_EVERY_MS);
  }

  /** Stops looking, and waits for the commands under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.looking;
    await this.settled();
  }

  /** Resolves once the commands under way have run. */
  async settled(): Promise<void> {
    await Promise.all(this.running.values());
  }

  /** One look: the held shards whose count moved, or that wait for an account. */
  async look(): Promise<void> {
    if (this.stopped) return;
    const counts = this.deps.filedCounts();
    const due = this.deps.heldShards().filter((shard) => {
      const count = counts.get(shard) ?? 0;
      return (
        count !== (this.seen.get(shard) ?? 0) ||
        (this.waiting.has(shard) && this.deps.clock.now() >= this.nextWaitingLookAt)
      );
    });
    if (due.length === 0) return;
    const pending = await this.deps.inbox.pending(due);
    // The counts as read before the commands: one filed since shows as a moved count at the next look.
    for (const shard of due) this.seen.set(shard, counts.get(shard) ?? 0);
    // Shards not read this time keep waiting; the ones read wait again only if a command still does.
    const waiting = new Set([...this.waiting].filter((shard) => !due.includes(shard)));
    for (const command of pending) {
      const key = `${command.message.account}#${command.id}`;
      if (this.running.has(key)) continue;
      const expired = this.deps.clock.now() - command.filedAt > COMMAND_EXPIRY_MS;
      if (!expired && !this.deps.holds(command.message.account)) {
        waiting.add(shardOf(command.message.account, this.deps.shardCount));
        continue;
      }
      const run = this.run(command, expired)
        .catch((error: unknown) => {
          // Looked at again next time: it may be claimed by this task but not finished.
          this.seen.delete(shardOf(command.message.account, this.deps.shardCount));
          this.deps.logger.error('action command failed', {
            account: command.message.account,
            command: command.id,
            error: errorMessage(error),
          });
        })
        .finally(() => this.running.delete(key));
      this.running.set(key, run);
    }
    this.waiting = waiting;
    this.nextWaitingLookAt = this.deps.clock.now() + WAITING_LOOK_EVERY_MS;
  }

  private async run(command: ActionCommand, expired: boolean): Promise<void> {
    const fence = this.deps.lease(command.message.account);
    if (!(await this.deps.inbox.claim(command, this.deps.taskId, fence))) return;
    let result: StepsResult;
    if (expired) {
      result = {
        outcomes: [],
        unreached: 'no watcher task held the account within 10 minutes of the request',
      };
      logCommandResult(command, result, this.deps.logger);
    } else result = await runCommand(command, this.deps.act, this.deps.logger, this.deps.pauseMs);
    await this.deps.inbox.finish(command, result, this.deps.taskId);
  }
}

/** How long the API waits for the task holding the account to run an action: under API Gateway's 29 s. */
const ANSWER_WAIT_MS = 20_000;
const ANSWER_POLL_MS = 250;

/**
 * One action asked of whichever watcher task holds the account (AWS mode): files it as a command (the request id
 * is its id, so a retried request is the same command), then waits for the result. Undefined when no task ran it
 * in time; throws when the task could not reach the server.
 */
export async function actThroughCommand(
  outbox: ActionCommandOutbox,
  clock: Clock,
  message: MessageCoordinates,
  action: MessageAction,
  requestId: string,
  timing: { readonly waitMs?: number; readonly pollMs?: number } = {},
): Promise<ActionOutcome | undefined> {
  const command = requestCommand(message, action, requestId, clock.now());
  await outbox.file(command);
  const { id } = command;
  const deadline = clock.now() + (timing.waitMs ?? ANSWER_WAIT_MS);
  for (;;) {
    const result = await outbox.result(message.account, id);
    if (result) {
      if (result.unreached !== undefined) throw new Error(result.unreached);
      return result.outcomes[0];
    }
    if (clock.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, timing.pollMs ?? ANSWER_POLL_MS));
  }
}
