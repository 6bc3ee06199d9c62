/**
 * Why a message looks machine-generated, or null. Helpdesk integrations must not auto-reply to these, or two
 * autoresponders mail each other forever. Signals: RFC 3834 Auto-Submitted (anything but "no"), the de-facto
 * X-Autoreply / X-Autorespond, Precedence bulk/junk/list, an empty Return-Path (bounces, RFC 5321 4.5.5) and
 * MAILER-DAEMON / postmaster senders.
 */
export function autoSubmittedReason(
  headers: Readonly<Record<string, readonly string[]>>,
  fromAddress: string | null,
): string | null {
  const first = (name: string) => headers[name]?.[0]?.trim();
  const autoSubmitted = first('auto-submitted')?.split(';')[0]?.trim().toLowerCase();
  if (autoSubmitted && autoSubmitted !== 'no') return `Auto-Submitted: ${autoSubmitted}`;
  if (headers['x-autoreply']) return 'X-Autoreply';
  if (headers['x-autorespond']) return 'X-Autorespond';
  const precedence = first('precedence')?.toLowerCase();
  if (precedence === 'bulk' || precedence === 'junk' || precedence === 'list')
    return `Precedence: ${precedence}`;
  if (first('return-path')?.replace(/\s/g, '') === '<>') return 'empty Return-Path';
  const localPart = fromAddress?.split('@')[0]?.toLowerCase();
  if (localPart === 'mailer-daemon' || localPart === 'postmaster') return `${localPart.toUpperCase()} sender`;
  return null;
}
