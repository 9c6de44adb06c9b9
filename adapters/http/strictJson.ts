import type { Lifecycle, Request, ResponseToolkit } from '@hapi/hapi';
import { problem, validationProblem, withHeaders } from './problems.js';

/**
 * Strict JSON bodies (issue 11). hapi parses a body with no Content-Type as
 * JSON and lets the last of two equal keys win, so `{"credits":1,"credits":2}`
 * with no Content-Type was charged 2. Here a body must say
 * `Content-Type: application/json` (415 otherwise), must be valid JSON
 * (400), and may not repeat a key in any object (400).
 */

const KEY_SHOWN_MAX = 64;

/**
 * The first key that appears twice in one object, or undefined. `text` must
 * already be valid JSON (JSON.parse accepted it): then every string right
 * after `{` or after a `,` inside an object is a key. One pass, a set of keys
 * per open object: linear in the text.
 */
export const firstDuplicateKey = (text: string): string | undefined => {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < text.length && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      if (expectKey) {
        const keys = stack[stack.length - 1];
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (keys?.has(key) === true) return key;
        keys?.add(key);
        expectKey = false;
      }
      i = j;
    }
    i += 1;
  }
  return undefined;
};

/** Parses a raw body: valid JSON without duplicate keys, or throws the 400 problem. */
export const parseStrictJson = (raw: unknown): unknown => {
  if (raw === undefined || raw === null) return undefined;
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : undefined;
  if (text === undefined) return raw;
  if (text.trim().length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw problem(400, 'bad-request', 'Bad request', 'The body is not valid JSON.');
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) {
    const shown = duplicate.length > KEY_SHOWN_MAX ? `${duplicate.slice(0, KEY_SHOWN_MAX)}...` : duplicate;
    throw validationProblem('payload', [{ path: shown, message: 'appears more than once; each key may appear once' }]);
  }
  return value;
};

const isJson = (contentType: string | undefined): boolean => {
  if (contentType === undefined) return false;
  const type = contentType.split(';', 1)[0]?.trim().toLowerCase();
  return type === 'application/json';
};

/** Whether the request carries a body at all (a length above zero, or chunked). */
const header = (request: Request, name: string): string | undefined => {
  const value: unknown = request.headers[name];
  return typeof value === 'string' ? value : undefined;
};

const hasBody = (request: Request): boolean => {
  const length = header(request, 'content-length');
  if (length !== undefined && length.trim() !== '0') return true;
  return header(request, 'transfer-encoding') !== undefined;
};

/** Route extension (before authentication and parsing): a body that does not say application/json is a 415. */
export const requireJsonContentType: Lifecycle.Method = (request: Request, h: ResponseToolkit) => {
  if (!hasBody(request) || isJson(header(request, 'content-type'))) return h.continue;
  throw withHeaders(problem(415, 'unsupported-media-type', 'Unsupported media type', 'Send the body with Content-Type: application/json.'), {
    'Accept-Post': 'application/json',
  });
};
