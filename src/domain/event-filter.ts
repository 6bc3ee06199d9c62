import { RE2JS } from 're2js';

/**
 * A subscription's filter: an Amazon EventBridge event pattern, matched against the webhook's JSON (`type`,
 * `data.subject`, `data.from.address`, ...). EventBridge's syntax because users of the AWS mode already write it,
 * it is documented at length by AWS, and it cannot express anything slow: every operator is a comparison, a
 * prefix, a suffix or a wildcard. One addition, `regex`, runs on RE2 (re2js), whose matching time is linear in
 * the input, so a customer's pattern cannot stall the pipeline. docs/filters.md has the grammar and examples.
 */
export type EventPattern = { readonly [field: string]: unknown };

export interface FilterProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** A compiled pattern; `pattern` is the JSON it came from, for storing and showing. */
export interface EventFilter {
  readonly pattern: EventPattern;
  matches(event: unknown): boolean;
}

type ValueTest = (value: unknown) => boolean;

/** One field's list of matchers: it matches when any matcher matches any of the field's values. */
interface FieldRule {
  readonly kind: 'values';
  readonly exists: boolean | undefined;
  readonly tests: readonly ValueTest[];
}

interface ObjectRule {
  readonly kind: 'object';
  readonly fields: ReadonlyMap<string, FieldRule | ObjectRule>;
  readonly anyOf: readonly ObjectRule[];
}

const MAX_PATTERN_CHARACTERS = 8192;
const MAX_DEPTH = 12;
const MAX_REGEX_CHARACTERS = 1000;
const OPERATORS = [
  'prefix',
  'suffix',
  'equals-ignore-case',
  'wildcard',
  'anything-but',
  'numeric',
  'exists',
  'regex',
] as const;
const COMPARISONS: ReadonlyMap<string, (a: number, b: number) => boolean> = new Map([
  ['<', (a, b) => a < b],
  ['<=', (a, b) => a <= b],
  ['=', (a, b) => a === b],
  ['>=', (a, b) => a >= b],
  ['>', (a, b) => a > b],
]);

type Compiled<T> = { readonly ok: T } | { readonly problems: readonly FilterProblem[] };

class PatternError extends Error {
  constructor(
    readonly path: readonly (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/** Compiles a pattern, or names every problem with its path inside the pattern. */
export function compileEventFilter(pattern: unknown): Compiled<EventFilter> {
  if (!isObject(pattern))
    return {
      problems: [{ path: [], message: 'must be an object, e.g. {"data": {"subject": [{"prefix": "Re:"}]}}' }],
    };
  if (JSON.stringify(pattern).length > MAX_PATTERN_CHARACTERS)
    return {
      problems: [{ path: [], message: `is longer than ${MAX_PATTERN_CHARACTERS} characters as JSON` }],
    };
  const problems: FilterProblem[] = [];
  const rule = objectRule(pattern, [], problems);
  if (problems.length > 0) return { problems };
  return { ok: { pattern, matches: (event) => objectMatches(rule, event) } };
}

function isObject(value: unknown): value is { readonly [key: string]: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function objectRule(
  pattern: { readonly [key: string]: unknown },
  path: readonly (string | number)[],
  problems: FilterProblem[],
): ObjectRule {
  const fields = new Map<string, FieldRule | ObjectRule>();
  let anyOf: ObjectRule[] = [];
  if (path.length > MAX_DEPTH) {
    problems.push({ path, message: `nests deeper than ${MAX_DEPTH} levels` });
    return { kind: 'object', fields, anyOf };
  }
  const keys = Object.keys(pattern);
  if (keys.length === 0) problems.push({ path, message: 'is empty: name at least one field' });
  for (const key of keys) {
    const value = pattern[key];
    const at = [...path, key];
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2 || !value.every(isObject)) {
        problems.push({ path: at, message: 'must be an array of at least two patterns (objects)' });
        continue;
      }
      anyOf = value.map((alternative, i) => objectRule(alternative, [...at, i], problems));
    } else if (Array.isArray(value)) {
      fields.set(key, fieldRule(value, at, problems));
    } else if (isObject(value)) {
      fields.set(key, objectRule(value, at, problems));
    } else {
      problems.push({
        path: at,
        message: `must be an array of matchers (e.g. [${JSON.stringify(value ?? 'value')}]) or a nested pattern (an object)`,
      });
    }
  }
  return { kind: 'object', fields, anyOf };
}

function fieldRule(
  matchers: readonly unknown[],
  path: readonly (string | number)[],
  problems: FilterProblem[],
) {
  if (matchers.length === 0) problems.push({ path, message: 'is empty: list at least one matcher' });
  let exists: boolean | undefined;
  const tests: ValueTest[] = [];
  matchers.forEach((matcher, i) => {
    try {
      if (isObject(matcher) && Object.keys(matcher).length === 1 && typeof matcher.exists === 'boolean')
        exists = matcher.exists;
      else tests.push(valueTest(matcher, [...path, i]));
    } catch (error) {
      if (!(error instanceof PatternError)) throw error;
      problems.push({ path: error.path, message: error.message });
    }
  });
  return { kind: 'values' as const, exists, tests };
}

function isScalar(value: unknown): value is string | number | boolean | null {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function valueTest(matcher: unknown, path: readonly (string | number)[]): ValueTest {
  if (isScalar(matcher)) return (value) => value === matcher;
  if (!isObject(matcher))
    throw new PatternError(path, 'must be a value (string, number, boolean, null) or an operator object');
  const keys = Object.keys(matcher);
  const operator = keys[0];
  if (keys.length !== 1 || operator === undefined)
    throw new PatternError(path, `an operator object has exactly one operator (${OPERATORS.join(', ')})`);
  const argument = matcher[operator];
  const at = [...path, operator];
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return affixTest(operator, argument, at);
    case 'equals-ignore-case': {
      return equalIgnoringCase(stringArgument(argument, at));
    }
    case 'wildcard':
      return wildcardTest(stringArgument(argument, at), at);
    case 'numeric':
      return numericTest(argument, at);
    case 'regex':
      return regexTest(argument, at);
    case 'anything-but': {
      const excluded = anythingButTest(argument, at);
      return (value) => isScalar(value) && !excluded(value);
    }
    case 'exists':
      throw new PatternError(at, 'must be true or false');
    default:
      throw new PatternError(
        path,
        `unknown operator "${operator}"; use one of ${OPERATORS.join(', ')} (cidr is not offered: no event field holds an address range)`,
      );
  }
}

function equalIgnoringCase(text: string): ValueTest {
  const expected = text.toLowerCase();
  return (value) => typeof value === 'string' && value.toLowerCase() === expected;
}

function stringArgument(argument: unknown, path: readonly (string | number)[]): string {
  if (typeof argument !== 'string') throw new PatternError(path, 'must be a string');
  return argument;
}

/** `{"prefix": "Re:"}` or, ignoring case, `{"prefix": {"equals-ignore-case": "re:"}}`; the same for suffix. */
function affixTest(
  operator: 'prefix' | 'suffix',
  argument: unknown,
  path: readonly (string | number)[],
): ValueTest {
  const ignoreCase =
    isObject(argument) && Object.keys(argument).length === 1 && 'equals-ignore-case' in argument;
  const text = ignoreCase
    ? stringArgument(argument['equals-ignore-case'], [...path, 'equals-ignore-case']).toLowerCase()
    : stringArgument(argument, path);
  const has = operator === 'prefix' ? (s: string) => s.startsWith(text) : (s: string) => s.endsWith(text);
  return (value) => typeof value === 'string' && has(ignoreCase ? value.toLowerCase() : value);
}

/** `*` stands for any run of characters (`\*` for a star itself), over the whole value, as in EventBridge. */
function wildcardTest(glob: string, path: readonly (string | number)[]): ValueTest {
  if (glob.includes('**'))
    throw new PatternError(path, 'has consecutive wildcards ("**"); one "*" is enough');
  const parts = glob.split(/(?<!\\)\*/).map((part) => RE2JS.quote(part.replaceAll('\\*', '*')));
  const expression = RE2JS.compile(parts.join('.*'), RE2JS.DOTALL);
  return (value) => typeof value === 'string' && expression.testExact(value);
}

/** RE2 syntax, found anywhere in the value (anchor with ^ and $); `(?i)` ignores case. */
function regexTest(argument: unknown, path: readonly (string | number)[]): ValueTest {
  const source = stringArgument(argument, path);
  if (source.length > MAX_REGEX_CHARACTERS)
    throw new PatternError(path, `is longer than ${MAX_REGEX_CHARACTERS} characters`);
  let expression: RE2JS;
  try {
    expression = RE2JS.compile(source);
  } catch (error) {
    throw new PatternError(
      path,
      `is not an RE2 regular expression (RE2 has no lookaround or backreferences): ${(error as Error).message}`,
    );
  }
  return (value) => typeof value === 'string' && expression.test(value);
}

/** `{"numeric": [">", 0, "<=", 5]}`: one or two comparisons, all of which must hold. */
function numericTest(argument: unknown, path: readonly (string | number)[]): ValueTest {
  const usage = 'must be [operator, number] or [operator, number, operator, number], operators < <= = >= >';
  if (!Array.isArray(argument) || (argument.length !== 2 && argument.length !== 4))
    throw new PatternError(path, usage);
  const checks: ((n: number) => boolean)[] = [];
  for (let i = 0; i < argument.length; i += 2) {
    const compare = COMPARISONS.get(String(argument[i]));
    const bound = argument[i + 1];
    if (!compare || typeof bound !== 'number' || !Number.isFinite(bound)) throw new PatternError(path, usage);
    checks.push((n) => compare(n, bound));
  }
  return (value) => typeof value === 'number' && checks.every((check) => check(value));
}

/** What `anything-but` excludes: values, or strings by prefix, suffix, case-insensitive value or wildcard. */
function anythingButTest(argument: unknown, path: readonly (string | number)[]): ValueTest {
  if (isScalar(argument)) return (value) => value === argument;
  if (Array.isArray(argument)) {
    if (argument.length === 0 || !argument.every(isScalar))
      throw new PatternError(path, 'must list at least one value (strings, numbers, booleans or null)');
    const excluded = new Set<unknown>(argument);
    return (value) => excluded.has(value);
  }
  if (!isObject(argument) || Object.keys(argument).length !== 1)
    throw new PatternError(
      path,
      'must be a value, a list of values, or one of prefix, suffix, equals-ignore-case, wildcard',
    );
  const [operator] = Object.keys(argument);
  const inner = argument[operator ?? ''];
  const at = [...path, operator ?? ''];
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return affixTest(operator, inner, at);
    case 'equals-ignore-case':
    case 'wildcard': {
      const list = Array.isArray(inner) ? inner : [inner];
      const tests = list.map((item, i) => {
        const text = stringArgument(item, Array.isArray(inner) ? [...at, i] : at);
        return operator === 'wildcard' ? wildcardTest(text, at) : equalIgnoringCase(text);
      });
      return (value) => tests.some((test) => test(value));
    }
    default:
      throw new PatternError(at, 'anything-but takes prefix, suffix, equals-ignore-case or wildcard');
  }
}

/** The own property only: field names in a pattern and in headers come from outside (`__proto__`, ...). */
function fieldOf(value: unknown, key: string): unknown {
  return isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

/**
 * A nested pattern against an array of objects matches when one element matches all of it (EventBridge's
 * "array consistency"): `{"attachments": {"contentType": [...], "size": [...]}}` asks for one attachment that is both.
 */
function objectMatches(rule: ObjectRule, value: unknown): boolean {
  if (Array.isArray(value) && value.length > 0) return value.some((item) => objectMatches(rule, item));
  for (const [key, child] of rule.fields) {
    const field = fieldOf(value, key);
    if (!(child.kind === 'object' ? objectMatches(child, field) : valuesMatch(child, field))) return false;
  }
  return rule.anyOf.length === 0 || rule.anyOf.some((alternative) => objectMatches(alternative, value));
}

/** A field's values: the elements of an array, else the value itself; a missing field or empty array has none. */
function valuesMatch(rule: FieldRule, field: unknown): boolean {
  const values = field === undefined ? [] : Array.isArray(field) ? field : [field];
  if (rule.exists !== undefined && rule.exists === values.length > 0) return true;
  return values.some((value) => rule.tests.some((test) => test(value)));
}
