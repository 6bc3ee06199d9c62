import { type ErrorCause, IdlehookError } from '../../domain/errors.js';

/** One stage of the path a connection takes, as the doctor found it. */
export interface DoctorStep {
  readonly name: 'dns' | 'tcp' | 'tls' | 'starttls' | 'greeting' | 'login' | 'capabilities' | 'mailboxes';
  readonly ok: boolean;
  readonly summary: string;
  /** What to change, when it failed (or a warning needs action). */
  readonly fix?: string;
  readonly warnings?: readonly string[];
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface DoctorReport {
  readonly account: string;
  readonly ok: boolean;
  readonly steps: readonly DoctorStep[];
}

/** Stops the walk at a failed stage; the doctor reports that stage and goes no further. */
export class StepFailure extends IdlehookError {
  override readonly name = 'StepFailure';
  constructor(
    readonly step: DoctorStep,
    options: ErrorCause = {},
  ) {
    super('DOCTOR_STEP_FAILED', false, step.summary, options);
  }
}

export const fail = (step: Omit<DoctorStep, 'ok'>, cause?: unknown): never => {
  throw new StepFailure({ ...step, ok: false }, cause === undefined ? {} : { cause });
};
