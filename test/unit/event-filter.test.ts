import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileEventFilter, type EventFilter } from '../../src/domain/event-filter.js';

// A message.received event, reduced to the fields the patterns below look at (JSON.parse, as a receiver would
// see it: `headers` may hold any name, `__proto__` included).
const EVENT = JSON.parse(`{
  "id": "evt_1",
  "type": "message.received",
  "timestamp": "2026-12-06T10:00:00.000Z",
  "data": {
    "account": "support",
    "mailbox": "INBOX",
    "size": 48213,
    "subject": "URGENT: printer on fire",
    "from": { "name": "Carol", "address": "carol@Customer.Example" },
    "to": [{ "name": "", "address": "support@example.com" }, { "name": "", "address": "ops@example.com" }],
    "cc": [],
    "autoSubmitted": false,
    "parseError": null,
    "attachments": [
      { "filename": "photo.jpg", "contentType": "image/jpeg", "size": 40000 },
      { "filename": "log.txt", "contentType": "text/plain", "size": 200 }
    ],
    "headers": { "x-priority": ["1"], "__proto__": ["odd but legal"] }
  }
}`);

function filter(pattern: unknown): EventFilter {
  const compiled = compileEventFilter(pattern);
  if ('problems' in compiled) assert.fail(`does not compile: ${JSON.stringify(compiled.problems)}`);
  return compiled.ok;
}
const matches = (pattern: unknown) => filter(pattern).matches(EVENT);
function problems(pattern: unknown): string[] {
  const compiled = compileEventFilter(pattern);
  return 'problems' in compiled ? compiled.problems.map((p) => `${p.path.join('.')}: ${p.message}`) : [];
}

describe('subscription filters: EventBridge event patterns on the webhook event', () => {
  it('matches exact values, and any element of an array field', () => {
    assert.ok(matches({ type: ['message.received'] }));
    assert.ok(!matches({ type: ['message.deleted'] }));
    assert.ok(matches({ data: { mailbox: ['Billing', 'INBOX'] } }));
    assert.ok(matches({ data: { to: { address: ['ops@example.com'] } } }), 'the second recipient');
    assert.ok(matches({ data: { autoSubmitted: [false], parseError: [null] } }));
    assert.ok(!matches({ data: { autoSubmitted: [true] } }));
  });

  it('prefix, suffix and equals-ignore-case, with and without case', () => {
    assert.ok(matches({ data: { subject: [{ prefix: 'URGENT' }] } }));
    assert.ok(!matches({ data: { subject: [{ prefix: 'urgent' }] } }));
    assert.ok(matches({ data: { subject: [{ prefix: { 'equals-ignore-case': 'urgent:' } }] } }));
    assert.ok(!matches({ data: { from: { address: [{ suffix: '@customer.example' }] } } }));
    assert.ok(
      matches({ data: { from: { address: [{ suffix: { 'equals-ignore-case': '@customer.example' } }] } } }),
    );
    assert.ok(matches({ data: { from: { address: [{ 'equals-ignore-case': 'CAROL@customer.example' }] } } }));
  });

  it('wildcard over the whole value, an escaped star as itself', () => {
    assert.ok(matches({ data: { subject: [{ wildcard: '*printer*' }] } }));
    assert.ok(!matches({ data: { subject: [{ wildcard: 'printer*' }] } }));
    assert.ok(filter({ s: [{ wildcard: 'a\\*b*' }] }).matches({ s: 'a*bc' }));
    assert.ok(!filter({ s: [{ wildcard: 'a\\*b*' }] }).matches({ s: 'axbc' }));
    assert.ok(filter({ s: [{ wildcard: 'a.c' }] }).matches({ s: 'a.c' }));
    assert.ok(
      !filter({ s: [{ wildcard: 'a.c' }] }).matches({ s: 'abc' }),
      'a dot is a dot, not any character',
    );
  });

  it('numeric comparisons and ranges on numbers only', () => {
    assert.ok(matches({ data: { size: [{ numeric: ['>', 20000] }] } }));
    assert.ok(matches({ data: { size: [{ numeric: ['>=', 48213, '<', 50000] }] } }));
    assert.ok(!matches({ data: { size: [{ numeric: ['<', 1000] }] } }));
    assert.ok(!matches({ data: { subject: [{ numeric: ['>', 0] }] } }));
  });

  it('exists: a field with a value; a missing field or an empty array has none', () => {
    assert.ok(matches({ data: { attachments: [{ exists: true }] } }), 'has attachments');
    assert.ok(matches({ data: { cc: [{ exists: false }] } }), 'an empty array has no values');
    assert.ok(matches({ data: { headers: { 'x-priority': [{ exists: true }] } } }));
    assert.ok(matches({ data: { headers: { 'list-id': [{ exists: false }] } } }));
    assert.ok(!matches({ data: { headers: { 'list-id': [{ exists: true }] } } }));
  });

  it('anything-but: values, prefixes, suffixes, case-insensitive values and wildcards', () => {
    assert.ok(matches({ data: { mailbox: [{ 'anything-but': ['Spam', 'Junk'] }] } }));
    assert.ok(!matches({ data: { mailbox: [{ 'anything-but': 'INBOX' }] } }));
    assert.ok(!matches({ data: { subject: [{ 'anything-but': { prefix: 'URGENT' } }] } }));
    assert.ok(!matches({ data: { from: { address: [{ 'anything-but': { suffix: '.Example' } }] } } }));
    assert.ok(!matches({ data: { mailbox: [{ 'anything-but': { 'equals-ignore-case': ['inbox'] } }] } }));
    assert.ok(matches({ data: { mailbox: [{ 'anything-but': { wildcard: 'Arch*' } }] } }));
    assert.ok(!matches({ data: { missing: [{ 'anything-but': 'x' }] } }), 'never matches an absent field');
  });

  it('regex (RE2): found anywhere, (?i) for case, linear time on a pattern that stalls a backtracking engine', () => {
    assert.ok(matches({ data: { subject: [{ regex: '(?i)\\bprinter\\b' }] } }));
    assert.ok(!matches({ data: { subject: [{ regex: '^printer' }] } }));
    // (a+)+$ against many a's and a b takes a backtracking engine (JavaScript's RegExp) exponential time;
    // this test would not finish. RE2 answers in one pass.
    assert.equal(filter({ s: [{ regex: '^(a+)+$' }] }).matches({ s: `${'a'.repeat(50_000)}!` }), false);
  });

  it('$or between alternatives, and with the fields beside it', () => {
    const urgent = {
      type: ['message.received'],
      data: { $or: [{ subject: [{ regex: '(?i)urgent' }] }, { headers: { 'x-priority': ['1'] } }] },
    };
    assert.ok(matches(urgent));
    assert.ok(!filter(urgent).matches({ ...EVENT, type: 'message.deleted' }), 'the sibling still applies');
    assert.ok(
      !filter(urgent).matches({ ...EVENT, data: { ...EVENT.data, subject: 'calm', headers: {} } }),
      'neither alternative',
    );
  });

  it('a nested pattern on an array of objects needs one element to match all of it', () => {
    assert.ok(
      matches({
        data: { attachments: { contentType: [{ prefix: 'image/' }], size: [{ numeric: ['>', 1000] }] } },
      }),
    );
    assert.ok(
      !matches({ data: { attachments: { contentType: ['text/plain'], size: [{ numeric: ['>', 1000] }] } } }),
      'the large one is an image, the text one is small',
    );
  });

  it('field names from outside are own properties only: __proto__ and constructor are ordinary names', () => {
    assert.ok(matches(JSON.parse('{"data":{"headers":{"__proto__":["odd but legal"]}}}')));
    assert.ok(!matches(JSON.parse('{"data":{"headers":{"__proto__":["something else"]}}}')));
    assert.ok(!matches(JSON.parse('{"data":{"headers":{"constructor":[{"exists":true}]}}}')));
    assert.ok(!matches(JSON.parse('{"data":{"toString":[{"exists":true}]}}')));
  });

  it('refuses an invalid pattern, naming where and what to write instead', () => {
    assert.deepEqual(problems({ data: { subject: [{ contains: 'x' }] } }), [
      'data.subject.0: unknown operator "contains"; use one of prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, exists, regex (cidr is not offered: no event field holds an address range)',
    ]);
    assert.match(
      problems({ data: { subject: [{ regex: '(unclosed' }] } })[0] ?? '',
      /^data\.subject\.0\.regex: is not an RE2 regular expression/,
    );
    assert.match(
      problems({ data: { subject: [{ regex: '(?<=a)b' }] } })[0] ?? '',
      /not an RE2/,
      'no lookbehind in RE2',
    );
    assert.match(
      problems({ data: { size: [{ numeric: ['>>', 1] }] } })[0] ?? '',
      /^data\.size\.0\.numeric: must be \[operator, number\]/,
    );
    assert.match(
      problems({ data: { subject: 'Hello' } })[0] ?? '',
      /^data\.subject: must be an array of matchers \(e\.g\. \["Hello"\]\)/,
    );
    assert.match(problems({ data: { subject: [] } })[0] ?? '', /^data\.subject: is empty/);
    assert.match(
      problems({ $or: [{ a: ['b'] }] })[0] ?? '',
      /^\$or: must be an array of at least two patterns/,
    );
    assert.match(
      problems({ data: { subject: [{ exists: 'yes' }] } })[0] ?? '',
      /exists: must be true or false/,
    );
    assert.match(problems({ s: [{ wildcard: 'a**' }] })[0] ?? '', /consecutive wildcards/);
    assert.match(problems([])[0] ?? '', /^: must be an object/);
    assert.match(problems({})[0] ?? '', /is empty: name at least one field/);
    let deep: Record<string, unknown> = { leaf: ['x'] };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    assert.match(problems(deep)[0] ?? '', /nests deeper than 12 levels/);
    assert.equal(
      problems({ data: { subject: [{ prefix: 'a' }, { regex: '(' }, { numeric: [] }] } }).length,
      2,
      'every problem, not only the first',
    );
  });
});
