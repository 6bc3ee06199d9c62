import type { DoctorStep } from '../../domain/doctor-report.js';
import { type ErrorCause, IdlehookError } from '../../domain/errors.js';

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
