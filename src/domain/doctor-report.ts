/** What the doctor found on the path to an account's mailboxes, stage by stage. */

/** One stage of the path a connection takes, as the doctor found it. */
export interface DoctorStep {
  readonly name:
    | 'dns'
    | 'tcp'
    | 'tls'
    | 'starttls'
    | 'greeting'
    | 'login'
    | 'capabilities'
    | 'mailboxes'
    | 'rights';
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
