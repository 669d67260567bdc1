/**
 * Argument checks shared by every public function: each throws a `TypeError` or
 * `RangeError` that quotes the value and its type, as CONVENTIONS.md asks:
 * ``Expected `ms` to be a number >= 0, got `-1` (number)``.
 */
import { createRequire } from 'node:module';

// Required, not imported: an ES import makes node:util's ES module facade, whose lazy
// exports (util.diff, util.styleText, ...) the patch's syncBuiltinESMExports() then reads,
// loading worker_threads and more at start-up (Node 26).
const { inspect } = createRequire(import.meta.url)('node:util') as typeof import('node:util');

/** `-1 (number)`, `'x' (string)`, `undefined`. */
export function quote(value: unknown): string {
  if (value === undefined) return '`undefined`';
  if (value === null) return '`null`';
  const t = typeof value;
  const shown = t === 'function' ? `[Function ${(value as { name?: string }).name || 'anonymous'}]` : inspect(value, { depth: 1, breakLength: Infinity, maxStringLength: 60, maxArrayLength: 5 });
  const kind = Array.isArray(value) ? 'array' : t;
  return `\`${shown}\` (${kind})`;
}

export function expected(name: string, what: string, value: unknown): string {
  return `Expected \`${name}\` to be ${what}, got ${quote(value)}`;
}

export function checkFunction(name: string, value: unknown): asserts value is (...args: never[]) => unknown {
  if (typeof value !== 'function') throw new TypeError(expected(name, 'a function', value));
}

/** A duration in milliseconds: a finite number >= 0. */
export function checkMs(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(expected(name, 'a number of milliseconds >= 0', value));
  if (!(value >= 0) || value === Infinity) throw new RangeError(expected(name, 'a finite number of milliseconds >= 0', value));
}

/** An optional timeout: `undefined`/`null` (none) or milliseconds >= 0 (`Infinity` = none). */
export function checkTimeout(name: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === Infinity) return undefined;
  if (typeof value !== 'number') throw new TypeError(expected(name, 'a number of milliseconds >= 0 or undefined', value));
  if (!(value >= 0)) throw new RangeError(expected(name, 'a number of milliseconds >= 0 or undefined', value));
  return value;
}

export function checkInt(name: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(expected(name, `an integer >= ${min}`, value));
  if (!Number.isInteger(value) || value < min) throw new RangeError(expected(name, `an integer >= ${min}`, value));
}

export function checkError(name: string, value: unknown): asserts value is Error {
  if (!(value instanceof Error)) throw new TypeError(expected(name, 'an Error', value));
}

export function checkOptions(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object') throw new TypeError(expected(name, 'an options object', value));
  return value as Record<string, unknown>;
}

export function checkIterable(name: string, value: unknown): asserts value is Iterable<unknown> | AsyncIterable<unknown> {
  if (value == null || (typeof value !== 'object' && typeof value !== 'string') ||
    (typeof (value as Iterable<unknown>)[Symbol.iterator] !== 'function' && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function')) {
    throw new TypeError(expected(name, 'an iterable or async iterable', value));
  }
}

export function checkBoolean(name: string, value: unknown, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (typeof value !== 'boolean') throw new TypeError(expected(name, 'a boolean', value));
  return value;
}
