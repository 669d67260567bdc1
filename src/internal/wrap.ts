/**
 * Reversible function wrapping for patches: `wrap(obj, key, make)` replaces `obj[key]`
 * with `make(original)`, keeping the original's `name`, `length`, prototype and every own
 * property (`realpath.native`, `util.promisify.custom`), and the slot's own attributes.
 * Idempotent (wrapping a greenio wrapper is a no-op) and exactly reversible (`unwrap`
 * puts back the original function object). Limit: a reference taken before `wrap`
 * keeps pointing at the original. Factories must build wrappers as methods
 * (`({ wrapper() {...} }).wrapper`): a `function` expression has its own `prototype`,
 * which async and arrow originals lack, and which cannot be deleted.
 * (shimmer, which DESIGN.md names, marks wrappers with own `__original`/`__unwrap`/
 * `__wrapped` properties; that would change the patched functions' own properties.)
 */

/** Any function, as an original or a wrapper (public through `greenio/monkey`: `any`, as it wraps arbitrary Node functions). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- wraps arbitrary Node functions
export type AnyFunction = (this: any, ...args: any[]) => any;

interface Slot {
  obj: object;
  key: PropertyKey;
  original: AnyFunction;
  wrapper: AnyFunction;
  /** The slot's own descriptor before wrapping; undefined if the function was inherited. */
  descriptor: PropertyDescriptor | undefined;
  owner: string;
}

const originalOf = new WeakMap<AnyFunction, AnyFunction>();
const slots: Slot[] = [];

/** The function a greenio wrapper replaced (the argument itself if it is not one). */
export function unwrapped<F extends AnyFunction>(fn: F): F {
  return (originalOf.get(fn) as F | undefined) ?? fn;
}

/** True if `fn` is a greenio wrapper. */
export function isWrapper(fn: unknown): boolean {
  return typeof fn === 'function' && originalOf.has(fn as AnyFunction);
}

/** True if `obj[key]` is currently a greenio wrapper. */
export function isWrapped(obj: object, key: PropertyKey): boolean {
  return isWrapper((obj as Record<PropertyKey, unknown>)[key]);
}

function copyMeta(from: AnyFunction, to: AnyFunction): void {
  for (const key of Reflect.ownKeys(from)) {
    if (key === 'caller' || key === 'arguments') continue;
    const d = Object.getOwnPropertyDescriptor(from, key)!;
    const existing = Object.getOwnPropertyDescriptor(to, key);
    if (existing && !existing.configurable) {
      // `prototype` of a plain function: not configurable, but writable.
      if (existing.writable && 'value' in d) (to as unknown as Record<PropertyKey, unknown>)[key] = d.value;
      continue;
    }
    Object.defineProperty(to, key, d);
  }
  for (const key of Reflect.ownKeys(to)) {
    if (!Object.prototype.hasOwnProperty.call(from, key)) {
      const d = Object.getOwnPropertyDescriptor(to, key)!;
      if (d.configurable) delete (to as unknown as Record<PropertyKey, unknown>)[key];
    }
  }
  Object.setPrototypeOf(to, Object.getPrototypeOf(from));
}

/**
 * Replace `obj[key]` with `make(original)`. Returns false (and changes nothing) if it is
 * missing, not a function, or already a greenio wrapper. `owner` names the patch, for
 * `unwrapAll(owner)`.
 */
export function wrap<F extends AnyFunction>(obj: object, key: PropertyKey, make: (original: F) => F, owner: string): boolean {
  const own = Object.getOwnPropertyDescriptor(obj, key);
  if (own === undefined ? !(key in obj) : !own.configurable && !own.writable) return false;
  const current = (obj as Record<PropertyKey, unknown>)[key];
  if (typeof current !== 'function' || originalOf.has(current as AnyFunction)) return false;
  const original = current as F;
  const wrapper = make(original);
  copyMeta(original, wrapper);
  originalOf.set(wrapper, original);
  Object.defineProperty(obj, key, {
    configurable: true,
    enumerable: own === undefined ? false : own.enumerable ?? true,
    writable: true,
    value: wrapper,
  });
  // An inherited function (a method of a prototype's prototype) gets an own slot here,
  // removed again on unwrap.
  slots.push({ obj, key, original, wrapper, descriptor: own, owner });
  return true;
}

/** Put back every original wrapped by `owner` (all owners if omitted), newest first. */
export function unwrapAll(owner?: string): number {
  let n = 0;
  for (let i = slots.length - 1; i >= 0; i--) {
    const s = slots[i]!;
    if (owner !== undefined && s.owner !== owner) continue;
    slots.splice(i, 1);
    const now = Object.getOwnPropertyDescriptor(s.obj, s.key);
    // Someone replaced our wrapper after us: leave their function in place.
    if (now === undefined || now.value !== s.wrapper) continue;
    if (s.descriptor === undefined) delete (s.obj as Record<PropertyKey, unknown>)[s.key];
    else Object.defineProperty(s.obj, s.key, s.descriptor);
    n++;
  }
  return n;
}

/** Owners (patch names) that currently have at least one wrapper in place. */
export function activeOwners(): Set<string> {
  return new Set(slots.map((s) => s.owner));
}

/** The wrapped slots of one owner: `[object, key]` pairs (for tests and reports). */
export function slotsOf(owner: string): Array<[object, PropertyKey]> {
  return slots.filter((s) => s.owner === owner).map((s) => [s.obj, s.key]);
}
