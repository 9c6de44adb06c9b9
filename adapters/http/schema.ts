import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { FieldError } from './problems.js';
import { USER_ID_MAX_LENGTH, USER_ID_PATTERN } from '../auth/userId.js';
import { validationProblem } from './problems.js';

/**
 * io-ts codecs that also know their JSON Schema, so a route's validation and
 * its OpenAPI description come from one definition. Structural codecs
 * (t.type, t.partial, t.union, literals...) are translated by `jsonSchemaOf`;
 * refinements carry their schema through `described`, because a predicate
 * cannot be read back as `minimum`/`maxLength`.
 */
export type JsonSchema = { readonly [key: string]: unknown };

const annotations = new WeakMap<t.Mixed, JsonSchema>();

/** Attaches a JSON Schema (and description) to a codec; returns the same codec. */
export const described = <C extends t.Mixed>(codec: C, schema: JsonSchema): C => {
  annotations.set(codec, { ...annotations.get(codec), ...schema });
  return codec;
};

/** A copy of `codec` with its own description (the original's documentation is untouched). */
export const withDescription = <C extends t.Mixed>(codec: C, description: string): C => {
  const copy = new t.Type(codec.name, codec.is, codec.validate, codec.encode) as unknown as C;
  annotations.set(copy, { ...jsonSchemaOf(codec), description });
  return copy;
};

type Tagged = t.Mixed & { readonly _tag?: string };

/** The JSON Schema of a codec; unknown shapes become `{}` (anything), never a wrong schema. */
export const jsonSchemaOf = (codec: t.Mixed): JsonSchema => {
  const own = annotations.get(codec);
  if (own !== undefined && typeof own['type'] === 'string') return own;
  const structural = structuralSchema(codec as Tagged);
  return own === undefined ? structural : { ...structural, ...own };
};

const propsSchema = (props: t.Props, required: boolean): JsonSchema => ({
  type: 'object',
  properties: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, jsonSchemaOf(v)])),
  ...(required && Object.keys(props).length > 0 ? { required: Object.keys(props) } : {}),
});

const mergeObjects = (schemas: readonly JsonSchema[]): JsonSchema => {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const s of schemas) {
    Object.assign(properties, s['properties'] ?? {});
    required.push(...((s['required'] as string[] | undefined) ?? []));
  }
  return { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false };
};

const structuralSchema = (codec: Tagged): JsonSchema => {
  const c = codec as unknown as Record<string, unknown>;
  switch (codec._tag) {
    case 'StringType':
      return { type: 'string' };
    case 'NumberType':
      return { type: 'number' };
    case 'BooleanType':
      return { type: 'boolean' };
    case 'NullType':
      return { type: 'null' };
    case 'LiteralType':
      return { const: c['value'] };
    case 'KeyofType':
      return { type: 'string', enum: Object.keys(c['keys'] as object) };
    case 'InterfaceType':
      return { ...propsSchema(c['props'] as t.Props, true), additionalProperties: false };
    case 'PartialType':
      return { ...propsSchema(c['props'] as t.Props, false), additionalProperties: false };
    case 'IntersectionType': {
      const parts = (c['types'] as t.Mixed[]).map(jsonSchemaOf);
      return parts.every((p) => p['type'] === 'object') ? mergeObjects(parts) : { allOf: parts };
    }
    case 'UnionType': {
      const parts = (c['types'] as t.Mixed[]).map(jsonSchemaOf);
      return parts.every((p) => 'const' in p) ? { enum: parts.map((p) => p['const']) } : { oneOf: parts };
    }
    case 'ArrayType':
    case 'ReadonlyArrayType':
      return { type: 'array', items: jsonSchemaOf(c['type'] as t.Mixed) };
    case 'RefinementType':
    case 'ReadonlyType':
    case 'ExactType':
    case 'StrictType':
      return jsonSchemaOf(c['type'] as t.Mixed);
    default:
      return {};
  }
};

/**
 * Unknown properties are refused rather than ignored: a typo such as
 * `{"credit": 5}` must not silently become a request without an amount.
 */
const unknownKeys = (codec: t.Mixed, value: unknown): readonly string[] => {
  const schema = jsonSchemaOf(codec);
  if (schema['type'] !== 'object' || schema['additionalProperties'] !== false) return [];
  if (typeof value !== 'object' || value === null) return [];
  const known = Object.keys((schema['properties'] as object | undefined) ?? {});
  return Object.keys(value).filter((k) => !known.includes(k));
};

/** io-ts errors as `path message` lines that name the offending field and never echo secrets. */
export const fieldErrors = (errors: t.Errors): FieldError[] => {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const error of errors) {
    const keys = error.context.map((c) => c.key).filter((k) => k !== '' && !/^\d+$/.test(k));
    const path = keys.length === 0 ? '(root)' : keys.join('.');
    const expected = error.context[error.context.length - 1]?.type.name ?? 'value';
    const message = error.message ?? (error.value === undefined ? 'is required' : `must be ${expected}`);
    if (!seen.has(path)) {
      seen.add(path);
      out.push({ path, message });
    }
  }
  return out;
};

export type Where = 'payload' | 'query' | 'params' | 'headers';

/** Decodes, refusing unknown keys; the Left is a 400 validation problem. */
export const decodeInput = <C extends t.Mixed>(codec: C, where: Where, value: unknown) => {
  const extra = where === 'headers' ? [] : unknownKeys(codec, value);
  if (extra.length > 0) return E.left(validationProblem(where, extra.map((k) => ({ path: k, message: 'is not allowed' }))));
  const decoded = codec.decode(value);
  return E.isLeft(decoded) ? E.left(validationProblem(where, fieldErrors(decoded.left))) : E.right(decoded.right as t.TypeOf<C>);
};

/** A hapi `validate.*` function: the decoded value replaces the raw one; a failure throws the 400 problem. */
export const hapiValidator =
  <C extends t.Mixed>(codec: C, where: Where) =>
  (value: unknown): t.TypeOf<C> => {
    const result = decodeInput(codec, where, value ?? {});
    if (E.isLeft(result)) throw result.left;
    return result.right;
  };

// ---- Reusable codecs -------------------------------------------------------

const refine = <A>(name: string, is: (u: unknown) => u is A, message: string, schema: JsonSchema) =>
  described(
    new t.Type<A, A, unknown>(name, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c, message)), t.identity),
    schema,
  );

/**
 * An amount of credits in a JSON body: a positive safe integer, never a string
 * ("10"), a fraction (1.5), zero, negative, or beyond 2^53 (1e20).
 */
export const Amount = refine(
  'Amount',
  (u): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u > 0,
  'must be a positive whole number of credits (at most 9007199254740991)',
  { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'Credits, in the smallest unit (a positive integer).' },
);

/** A bounded printable string (ids, service names, reasons). */
export const boundedString = (name: string, maxLength: number, pattern: RegExp, description: string) =>
  refine(
    name,
    (u): u is string => typeof u === 'string' && u.length > 0 && u.length <= maxLength && pattern.test(u),
    `must be 1 to ${maxLength} characters matching ${pattern.source}`,
    { type: 'string', minLength: 1, maxLength, pattern: pattern.source, description },
  );

export const UserId = boundedString('UserId', USER_ID_MAX_LENGTH, USER_ID_PATTERN, 'A ledger account id (the JWT `sub` of its owner).');
export const ServiceName = boundedString('ServiceName', 64, /^[a-z0-9][a-z0-9._:-]*$/, 'What the credits pay for, e.g. "sora2" or "llm".');

/** A whole number from a query string ("10"), within bounds. */
export const intFromString = (name: string, min: number, max: number, description: string) =>
  described(
    new t.Type<number, string, unknown>(
      name,
      (u): u is number => typeof u === 'number',
      (u, c) => {
        const n = typeof u === 'string' && /^\d{1,16}$/.test(u) ? Number(u) : Number.NaN;
        return Number.isSafeInteger(n) && n >= min && n <= max ? t.success(n) : t.failure(u, c, `must be a whole number from ${min} to ${max}`);
      },
      String,
    ),
    { type: 'integer', minimum: min, maximum: max, description },
  );

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * Whether every field of an RFC 3339 date-time is in range for the calendar. Date.parse rolls
 * `2025-02-30` over to March 2 without a word, so the day is checked against its month here.
 */
const isCalendarInstant = (text: string): boolean => {
  const m = RFC3339.exec(text);
  if (m === null) return false;
  const [year, month, day, hour, minute, second = 0, offsetH = 0, offsetM = 0] = m.slice(1).map((x) => (x === undefined ? undefined : Number(x)));
  if (year === undefined || month === undefined || day === undefined || hour === undefined || minute === undefined) return false;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59 || offsetH > 23 || offsetM > 59) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth;
};

/** An RFC 3339 instant ("2025-10-14T08:57:00Z") decoded to ms since epoch; impossible calendar days are refused. */
export const IsoInstant = described(
  new t.Type<number, string, unknown>(
    'IsoInstant',
    (u): u is number => typeof u === 'number',
    (u, c) => {
      const ms = typeof u === 'string' && isCalendarInstant(u) ? Date.parse(u) : Number.NaN;
      return Number.isFinite(ms) ? t.success(ms) : t.failure(u, c, 'must be an RFC 3339 date-time such as 2025-10-14T08:57:00Z, on a real calendar day');
    },
    (ms) => new Date(ms).toISOString(),
  ),
  { type: 'string', format: 'date-time' },
);
