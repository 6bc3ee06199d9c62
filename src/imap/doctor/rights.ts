import type { ImapFlow } from 'imapflow';
import type { DoctorStep } from '../../domain/doctor-report.js';

/**
 * The RFC 4314 rights each message action needs on the message's folder: `s` to set \Seen, `w` other flags and
 * keywords, `t` and `e` to mark \Deleted and expunge (a move's target needs `i`, and `k` if it is to be made:
 * checked when the move runs).
 */
const NEEDED_RIGHTS: readonly (readonly [string, string])[] = [
  ['mark-seen', 's'],
  ['add-flags / remove-flags', 'w'],
  ['move', 'te'],
  ['delete', 'te'],
];

/** Folders whose rights are asked for: one MYRIGHTS each. */
const MAX_FOLDERS_ASKED = 20;

type Exec = {
  exec(
    command: string,
    attributes: readonly { type: string; value: string }[],
    options: {
      untagged: Record<string, (untagged: { attributes?: { value?: unknown }[] }) => Promise<void>>;
    },
  ): Promise<{ next(): void }>;
};

/** What this user may change in the watched folders, where the server says (ACL, RFC 4314 MYRIGHTS). */
export async function rightsStep(client: ImapFlow, mailboxes: readonly string[]): Promise<DoctorStep> {
  if (!client.capabilities.has('ACL'))
    return {
      name: 'rights',
      ok: true,
      summary:
        'the server does not say what this user may change (no ACL): message actions are tried when asked, and a refusal is answered as such',
    };
  const asked = mailboxes.slice(0, MAX_FOLDERS_ASKED);
  const rights = new Map<string, string>();
  for (const mailbox of asked) rights.set(mailbox, await myRights(client, mailbox));
  const warnings = [...rights].flatMap(([mailbox, granted]) => {
    const cannot = NEEDED_RIGHTS.filter(([, needs]) =>
      [...needs].some((right) => !granted.includes(right)),
    ).map(([action]) => action);
    return cannot.length > 0 ? [`${mailbox} (rights "${granted}"): cannot ${cannot.join(', ')}`] : [];
  });
  return {
    name: 'rights',
    ok: true,
    summary: [...rights].map(([mailbox, granted]) => `${mailbox}: ${granted}`).join(', '),
    ...(warnings.length > 0
      ? {
          warnings,
          fix: 'Message actions on these folders will be refused: ask the mail administrator for the rights, or leave those actions out',
        }
      : {}),
  };
}

async function myRights(client: ImapFlow, mailbox: string): Promise<string> {
  let granted = '';
  const response = await (client as unknown as Exec).exec('MYRIGHTS', [{ type: 'STRING', value: mailbox }], {
    untagged: {
      MYRIGHTS: async (untagged) => {
        granted = String(untagged.attributes?.[1]?.value ?? '');
      },
    },
  });
  response.next();
  return granted;
}
