import iconv from 'iconv-lite';
import libmime from 'libmime';

/** `=?charset[*language]?B|Q?text?=` (RFC 2047 section 2, RFC 2231 section 5). */
const ENCODED_WORD = /=\?([^?*]+)(?:\*[^?]*)?\?([BbQq])\?([^?]*)\?=/g;
const UTF7_WORD = /=\?(?:unicode-1-1-)?utf-7(?:\*[^?]*)?\?[BbQq]\?/i;

function wordBytes(encoding: string, text: string): Buffer {
  if (encoding.toUpperCase() === 'B') return Buffer.from(text, 'base64');
  const latin1 = text
    .replace(/_/g, ' ')
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return Buffer.from(latin1, 'latin1');
}

/**
 * Decodes a header's encoded words, UTF-7 ones included. Old Outlook versions wrote subjects as
 * `=?utf-7?Q?Fr+APY-sche?=`; libmime leaves those undecoded on purpose (UTF-7 can smuggle `<script>` past HTML
 * filters), but the result here is a JSON string that receivers must escape like any other, so decoding it is
 * what they need. Whitespace between adjacent encoded words is dropped, as RFC 2047 section 6.2 says.
 */
export function decodeEncodedWords(value: string): string {
  if (!UTF7_WORD.test(value)) return libmime.decodeWords(value);
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(ENCODED_WORD, (word, charset: string, encoding: string, text: string) =>
      /^(?:unicode-1-1-)?utf-7$/i.test(charset)
        ? iconv.decode(wordBytes(encoding, text), 'utf7')
        : libmime.decodeWords(word),
    );
}

/** Whether mailparser's decoding of this raw header value needs redoing (see `decodeEncodedWords`). */
export function hasUtf7EncodedWord(value: string): boolean {
  return UTF7_WORD.test(value);
}
