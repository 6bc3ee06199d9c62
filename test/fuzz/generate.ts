// Generates malformed and adversarial RFC 822 messages, deterministically from a seed, for the fuzz run.
import { PROTOTYPE_NAMES } from '../support/hostile-names.js';
import { seededRandom } from '../support/seeded-random.js';

type Rng = () => number;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;
const int = (rng: Rng, min: number, max: number) => min + Math.floor(rng() * (max - min + 1));
const bytes = (rng: Rng, length: number) => Buffer.from(Array.from({ length }, () => int(rng, 0, 255)));

const HOSTILE_NAMES = [
  '../../../etc/passwd',
  '/etc/shadow',
  'C:\\Windows\\system32\\cmd.exe',
  '$(rm -rf ~).pdf',
  '`reboot`.txt',
  'file://localhost/etc/hosts',
  'http://169.254.169.254/latest/meta-data/',
  'a\u0000b.txt',
  `${'A'.repeat(5000)}.txt`,
  '=?UTF-8?B?Li4vLi4vZXZpbA==?=',
  ...PROTOTYPE_NAMES,
];

const headers = (rng: Rng, extra = '') =>
  `From: ${pick(rng, ['a@example.com', '"Eve" <eve@example.com>', '<<<@>>>', '', 'undisclosed-recipients:;'])}\r\n` +
  `To: support@example.com\r\nSubject: ${pick(rng, ['hi', '=?UTF-8?B?broken', '=?x-unknown?Q?=FF?=', 'a\r\n\tfolded', '\u0000nul'])}\r\n` +
  `Message-ID: <fuzz.${int(rng, 0, 1e9)}@example.com>\r\nDate: ${pick(rng, ['Fri, 27 Nov 2026 10:00:00 +0000', 'yesterday', '', '31 Feb 2026 99:99:99'])}\r\n${extra}`;

/** Each case returns one message; `kind` names the family, for the report. */
const CASES: Record<string, (rng: Rng) => Buffer> = {
  'broken boundary': (rng) =>
    Buffer.from(
      `${headers(rng)}Content-Type: multipart/mixed; boundary="${pick(rng, ['b', '', '"', 'x'.repeat(500)])}"\r\n\r\n` +
        `--${pick(rng, ['b', 'c', ''])}\r\nContent-Type: text/plain\r\n\r\nbody\r\n${pick(rng, ['--b--', '--b', '', '--c--'])}`,
    ),
  'bad transfer encoding': (rng) =>
    Buffer.from(
      `${headers(rng)}Content-Type: text/plain; charset=${pick(rng, ['utf-8', 'x-nonexistent', 'iso-2022-jp', ''])}\r\n` +
        `Content-Transfer-Encoding: ${pick(rng, ['base64', 'quoted-printable', 'x-uuencode', 'bogus'])}\r\n\r\n` +
        `${pick(rng, ['!!!@@@', '=ZZ=Q=\r\n=', 'begin 644 x\r\n!!!\r\n', '\u00ff\u00fe'])}\r\n`,
      'latin1',
    ),
  'huge header': (rng) =>
    Buffer.from(`${headers(rng)}X-Big: ${'h'.repeat(int(rng, 10_000, 3_000_000))}\r\n\r\nbody\r\n`),
  'deep nesting': (rng) => {
    const depth = int(rng, 20, 3000);
    return Buffer.from(
      `${headers(rng)}Content-Type: multipart/mixed; boundary=n\r\n\r\n` +
        '--n\r\nContent-Type: multipart/mixed; boundary=n\r\n\r\n'.repeat(depth) +
        'leaf\r\n',
    );
  },
  'bomb-like attachment': (rng) => {
    const size = int(rng, 1, 8) * 1024 * 1024;
    return Buffer.from(
      `${headers(rng)}Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: application/gzip; name="${pick(rng, HOSTILE_NAMES)}"\r\n` +
        `Content-Disposition: attachment; filename="${pick(rng, HOSTILE_NAMES)}"\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
        `${Buffer.alloc(size).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n--z--\r\n`,
    );
  },
  'nul bytes': (rng) =>
    Buffer.concat([Buffer.from(headers(rng)), Buffer.from('\r\n\u0000body\u0000\r\n'), bytes(rng, 64)]),
  garbage: (rng) => bytes(rng, int(rng, 0, 4096)),
  'hostile names': (rng) =>
    Buffer.from(
      `${headers(rng)}Content-Type: multipart/mixed; boundary=h\r\n\r\n--h\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n` +
        `--h\r\nContent-Type: application/octet-stream; name="${pick(rng, HOSTILE_NAMES)}"\r\n` +
        `Content-Disposition: attachment; filename="${pick(rng, HOSTILE_NAMES)}"\r\nContent-ID: <${pick(rng, HOSTILE_NAMES)}>\r\n\r\npayload\r\n--h--\r\n`,
    ),
  'html only': (rng) =>
    Buffer.from(
      `${headers(rng)}Content-Type: text/html\r\n\r\n${pick(rng, ['<script>alert(1)</script>', '<img src="http://169.254.169.254/">', '<'.repeat(100_000), '<div>'.repeat(5000)])}`,
    ),
  'headers only': (rng) => Buffer.from(headers(rng)),
  // Object.prototype's member names as header names, boundary, parameter and file names.
  'prototype names': (rng) => {
    const name = pick(rng, PROTOTYPE_NAMES);
    const other = pick(rng, PROTOTYPE_NAMES);
    return Buffer.from(
      `${headers(rng, `${name}: ${other}\r\n${other}: ${name}\r\n${name}: again\r\n`)}` +
        `Content-Type: multipart/mixed; boundary="${name}"; ${other}="${name}"\r\n\r\n--${name}\r\n` +
        `Content-Type: text/plain; ${name}=${other}\r\n${name}: part\r\n\r\nbody\r\n--${name}\r\n` +
        `Content-Type: application/octet-stream; name="${other}"\r\nContent-Disposition: attachment; filename="${name}"; ${other}=1\r\n` +
        `Content-ID: <${name}>\r\n\r\npayload\r\n--${name}--\r\n`,
    );
  },
};

export const CASE_NAMES = Object.keys(CASES);

/** Message number `index` of the run with `seed`: the same pair always yields the same bytes. */
export function generateMessage(seed: number, index: number): { kind: string; source: Buffer } {
  const rng = seededRandom(seed * 1_000_003 + index);
  const kind = pick(rng, CASE_NAMES);
  return { kind, source: (CASES[kind] as (rng: Rng) => Buffer)(rng) };
}

/** A 25 MB message: a large plain-text body, the size limit most providers enforce. */
export function largeMessage(): Buffer {
  return Buffer.concat([
    Buffer.from(
      'From: big@example.com\r\nTo: support@example.com\r\nSubject: 25 MB\r\nContent-Type: text/plain\r\n\r\n',
    ),
    Buffer.alloc(25 * 1024 * 1024, 'lorem ipsum dolor sit amet\r\n'),
  ]);
}
