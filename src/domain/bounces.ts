/**
 * What a bounce says about each recipient. Two readings:
 * - a delivery status notification (RFC 3464: multipart/report with a message/delivery-status part), whose
 *   per-recipient fields are read as written;
 * - the plain-text bounces large MTAs still send (qmail, Exim, Gmail, Yahoo, Microsoft 365), read from their
 *   text by the wording those MTAs use, only when the message already looks machine-made (empty Return-Path,
 *   MAILER-DAEMON or postmaster, a bounce-like subject).
 * docs/events.md lists the fields and their limits.
 */

export interface BounceRecipient {
  /** Final-Recipient (Original-Recipient when it is missing), without its address type. */
  readonly recipient: string;
  /** failed, delayed, delivered, relayed or expanded; lower case. */
  readonly action: string | null;
  /** The enhanced status code (RFC 3463), e.g. 5.1.1. */
  readonly status: string | null;
  /** The remote server's answer (Diagnostic-Code without its type), or the text bounce's explanation. */
  readonly diagnosticCode: string | null;
  readonly remoteMta: string | null;
}

export interface Bounce {
  /** How it was read: the RFC 3464 report, or the text of a non-standard bounce. */
  readonly source: 'delivery-status' | 'text';
  readonly reportingMta: string | null;
  /** The Message-ID of the message that bounced, from the copy or headers the bounce returned. */
  readonly originalMessageId: string | null;
  readonly recipients: readonly BounceRecipient[];
}

const STATUS_CODE = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;
const QMAIL_STATUS = /\(#([245]\.\d{1,3}\.\d{1,3})\)/;
const MAX_RECIPIENTS = 100;
const MAX_DIAGNOSTIC = 1000;
/** Address lines are short; longer ones are not matched (the address patterns backtrack on long input). */
const MAX_ADDRESS_LINE = 400;

/** `rfc822; <a@b>` -> `a@b`; `dns; mx.example.com` -> `mx.example.com`. */
function typedValue(value: string | undefined): string | null {
  if (value === undefined) return null;
  const semicolon = value.indexOf(';');
  const text = (semicolon >= 0 ? value.slice(semicolon + 1) : value).trim();
  return text === '' ? null : text;
}

function address(value: string | undefined): string | null {
  const text = typedValue(value);
  return text === null ? null : text.replace(/^<|>$/g, '').trim() || null;
}

function statusCode(text: string | null | undefined): string | null {
  return text ? (STATUS_CODE.exec(text)?.[0] ?? null) : null;
}

function clip(text: string): string | null {
  const single = text.replace(/\s+/g, ' ').trim();
  if (single === '') return null;
  return single.length > MAX_DIAGNOSTIC ? `${single.slice(0, MAX_DIAGNOSTIC)}...` : single;
}

/** Field groups of a delivery-status body: blank lines separate groups, folded lines are unfolded. */
function fieldGroups(content: string): Map<string, string>[] {
  const groups: Map<string, string>[] = [];
  let group = new Map<string, string>();
  let last: string | undefined;
  for (const line of content.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (group.size > 0) groups.push(group);
      group = new Map();
      last = undefined;
    } else if (/^[ \t]/.test(line) && last !== undefined) {
      group.set(last, `${group.get(last) ?? ''} ${line.trim()}`);
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      last = line.slice(0, colon).trim().toLowerCase();
      // A repeated field in one group starts the next recipient: some MTAs leave out the blank line.
      if (group.has(last) && (last === 'final-recipient' || last === 'original-recipient')) {
        groups.push(group);
        group = new Map();
      }
      group.set(last, line.slice(colon + 1).trim());
    }
  }
  if (group.size > 0) groups.push(group);
  return groups;
}

/** An RFC 3464 `message/delivery-status` body (or RFC 6533's global one). */
export function readDeliveryStatus(content: string): Pick<Bounce, 'reportingMta' | 'recipients'> {
  let reportingMta: string | null = null;
  const recipients: BounceRecipient[] = [];
  for (const group of fieldGroups(content)) {
    reportingMta ??= typedValue(group.get('reporting-mta'));
    const recipient = address(group.get('final-recipient')) ?? address(group.get('original-recipient'));
    if (recipient === null || recipients.length >= MAX_RECIPIENTS) continue;
    const diagnostic = group.get('diagnostic-code');
    recipients.push({
      recipient,
      action: group.get('action')?.trim().toLowerCase() || null,
      status: statusCode(group.get('status')),
      diagnosticCode: diagnostic === undefined ? null : clip(typedValue(diagnostic) ?? ''),
      remoteMta: typedValue(group.get('remote-mta')),
    });
  }
  return { reportingMta, recipients };
}

/** Signals that a message with no report may be a text bounce worth reading. */
export function looksLikeBounce(signals: {
  readonly autoSubmittedReason: string | null;
  readonly subject: string | null;
}): boolean {
  const reason = signals.autoSubmittedReason ?? '';
  if (/^(empty Return-Path|MAILER-DAEMON sender|POSTMASTER sender)$/.test(reason)) return true;
  return /undeliver|returned mail|delivery (status notification|failure|has failed|failed)|failure notice|mail delivery (failed|system)|could not be delivered|non remis/i.test(
    signals.subject ?? '',
  );
}

/** The explanation after an address: the lines up to the next blank line, or while `more` holds. */
function following(lines: readonly string[], from: number, more: (line: string) => boolean): string[] {
  const out: string[] = [];
  for (let i = from; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '' || !more(line)) break;
    out.push(line.trim());
  }
  return out;
}

const indentOf = (line: string) => /^\s*/.exec(line)?.[0].length ?? 0;

const DELAYED_WORDING = /has been delayed|temporary (failure|error)|will (retry|keep trying)|still trying/i;

/** `delayedWording`: whether the bounce's text speaks of a delay, asked only where no status code says. */
function textRecipient(
  recipient: string,
  explanation: string,
  delayedWording: () => boolean,
): BounceRecipient {
  const status = QMAIL_STATUS.exec(explanation)?.[1] ?? statusCode(explanation);
  const delayed = status ? status.startsWith('4.') : delayedWording();
  return {
    recipient,
    action: delayed ? 'delayed' : 'failed',
    status,
    diagnosticCode: clip(explanation),
    remoteMta: null,
  };
}

const EMAIL = String.raw`[^\s<>@:;,"()]+@[^\s<>@:;,"()]+\.[^\s<>@:;,"()]+`;
const ANGLE_ADDRESS = new RegExp(`^<(${EMAIL})>:?\\s*(.*)$`);
const LONE_ADDRESS = new RegExp(`^\\s+<?(${EMAIL})>?:?\\s*$`);
const MAILTO_ADDRESS = new RegExp(`^\\s*(${EMAIL})\\s*(<mailto:[^>]*>)?\\s*$`);
const LIST_INTRODUCTIONS =
  /following address(es)? failed|address\(es\) failed|following recipients? (failed|has been delayed)|following recipients? .*failed/i;
const COPY_FOLLOWS = /^\s*-{2,}.*(below this line|original message|copy of the message)/i;

/** Gmail's explanation: what the other server returned, else the technical details. */
function gmailExplanation(lines: readonly string[]): string {
  for (const marker of [
    /error that the other server returned was\s*:/i,
    /technical details of (permanent|temporary) failure\s*:/i,
  ]) {
    const at = lines.findIndex((l) => l.length <= MAX_ADDRESS_LINE * 4 && marker.test(l));
    if (at < 0) continue;
    const line = lines[at] ?? '';
    const found = marker.exec(line);
    const rest = found ? line.slice(found.index + found[0].length) : '';
    const explanation = [rest, ...following(lines, at + 1, (l) => !COPY_FOLLOWS.test(l))].join(' ').trim();
    if (explanation !== '') return explanation;
  }
  return '';
}

/**
 * A non-standard bounce's recipients, by the layouts of the MTAs that send them:
 * - qmail, Postfix without a report: `<address>:` then the explanation;
 * - Exim and Gmail: the address indented under "...address(es) failed:" or "Delivery to the following
 *   recipient failed...", the explanation indented deeper (Gmail: after "The error that the other server
 *   returned was:");
 * - Microsoft 365: the address after "Delivery has failed to these recipients or groups:", its explanation on
 *   the next line.
 * Reading stops where the returned copy of the message begins; that copy is returned too.
 */
export function readTextBounce(text: string): {
  readonly recipients: readonly BounceRecipient[];
  readonly returnedCopy: string | null;
} {
  const lines = text.split(/\r?\n/);
  const copyStart = lines.findIndex((l) => l.length <= MAX_ADDRESS_LINE && COPY_FOLLOWS.test(l));
  const body = copyStart >= 0 ? lines.slice(0, copyStart) : lines;
  // Each read once, at most, however many recipients need it.
  let delayed: boolean | undefined;
  const delayedWording = () => (delayed ??= DELAYED_WORDING.test(text));
  let gmail: string | undefined;
  const gmailOnce = () => (gmail ??= gmailExplanation(lines));
  const found = new Map<string, BounceRecipient>();
  const add = (recipient: string, explanation: string) => {
    const key = recipient.toLowerCase();
    if (!found.has(key) && found.size < MAX_RECIPIENTS)
      found.set(key, textRecipient(recipient, explanation, delayedWording));
  };
  for (let i = 0; i < body.length; i++) {
    const line = body[i] ?? '';
    if (line.length > MAX_ADDRESS_LINE) continue;
    const angled = ANGLE_ADDRESS.exec(line);
    if (angled?.[1]) {
      const notAnAddress = (l: string) => l.length > MAX_ADDRESS_LINE || !ANGLE_ADDRESS.test(l);
      add(angled[1], [angled[2] ?? '', ...following(body, i + 1, notAnAddress)].join(' '));
    } else if (LIST_INTRODUCTIONS.test(line)) {
      for (let j = i + 1; j < body.length; j++) {
        const candidate = body[j] ?? '';
        if (candidate.trim() === '') continue;
        const address = candidate.length <= MAX_ADDRESS_LINE ? LONE_ADDRESS.exec(candidate)?.[1] : undefined;
        if (!address) break;
        const indent = indentOf(candidate);
        const explanation = following(body, j + 1, (l) => indentOf(l) > indent);
        add(address, explanation.join(' ') || gmailOnce());
        j += explanation.length;
      }
    } else if (/^\s*delivery has failed to these recipients or groups:/i.test(line)) {
      for (let j = i + 1; j < body.length; j++) {
        const candidate = body[j] ?? '';
        if (candidate.trim() === '') continue;
        const address =
          candidate.length <= MAX_ADDRESS_LINE ? MAILTO_ADDRESS.exec(candidate)?.[1] : undefined;
        if (!address) break;
        add(address, body[j + 1] ?? '');
        j += 1;
      }
    }
  }
  return {
    recipients: [...found.values()],
    returnedCopy: copyStart < 0 ? null : lines.slice(copyStart + 1).join('\n'),
  };
}

/** The Message-ID of a returned message or header block (its first header section). */
export function originalMessageIdOf(returned: string): string | null {
  const headerBlock = returned.trimStart().split(/\r?\n\r?\n/)[0] ?? '';
  return /^message-id:[ \t]*(<[^>\r\n]{1,998}>)/im.exec(headerBlock)?.[1] ?? null;
}
