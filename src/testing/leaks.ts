/**
 * Leak checks for any test runner: `installLeakCheck({ beforeEach, afterEach })` watches
 * greenio's diagnostics channels during each test and fails it if it left greenlets
 * alive or operations in flight (waits, callback IO, patched timers, sockets, servers),
 * naming each with the site that spawned or started it, then kills and closes them.
 * Limits: only what greenio sees (patched IO, greenio waits); a timer `unref()`ed is
 * infrastructure and not a leak; sites cost a stack capture per op while a check runs.
 */
import diagnostics from 'node:diagnostics_channel';
import { basename, dirname, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hub from '../hub/index.js';
import { opText, greenletLabel, State, type AnyOp, type Core } from '../hub/index.js';
import type { Greenlet } from '../greenlet.js';
import { killAll } from '../wait.js';
import { originalSetImmediate, originalSetTimeout } from '../internal/originals.js';
import { checkFunction, checkOptions, expected } from '../internal/validate.js';
import { GreenioError, GreenletExit, named } from '../errors.js';

/** One thing a test left behind. */
export interface Leak {
  /** `'greenlet'`, or for an operation: `'wait'`, `'handle'` (socket, server, child) or `'pending'` (callback IO, a timer). */
  type: 'greenlet' | 'wait' | 'handle' | 'pending';
  /** `#3 Greenlet-3 (poll)`, or the op's kind (`'net.socket'`, `'timer'`, `'fs.readFile'`). */
  name: string;
  /** One line: what it is, its owner, and where it was spawned or started. */
  text: string;
  /** `file:line:column` of the program's call that spawned or started it, when known. */
  site: string | undefined;
}

/** Options of `expectNoLeaks()` and `installLeakCheck()`. */
export interface LeakCheckOptions {
  /** How long leaks may take to go away on their own (a socket closing) before they count. Default 250 ms. */
  graceMs?: number;
  /** Kill the leaked greenlets and close the leaked handles once reported. Default true. */
  cleanup?: boolean;
  /** Leaks to allow (return true to ignore one). */
  ignore?: (leak: Leak) => boolean;
}

/**
 * What a test left behind, one line each in the message; `leaks` lists them.
 * @example
 * import { LeakError } from 'greenio/testing';
 * console.log(new LeakError([]).code); // 'GREENIO_LEAK'
 */
export class LeakError extends GreenioError {
  readonly leaks: readonly Leak[];
  constructor(leaks: readonly Leak[]) {
    super(`the test left ${leaks.length} greenlet(s) or operation(s) behind:\n${leaks.map((l) => `  ${l.text}`).join('\n')}`, 'GREENIO_LEAK');
    this.leaks = leaks;
  }
}
named(LeakError, 'LeakError');

// greenio's own frames say nothing about where the program spawned or opened something.
// Built, ROOT is dist/; a runner that applies the source maps (Jest) names the sources
// beside it (src/, patches/), so both count as greenio's.
const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const OWN = (basename(ROOT) === 'dist' ? [ROOT, dirname(ROOT)] : [ROOT]).flatMap((r) => [`${r}${sep}src${sep}`, `${r}${sep}patches${sep}`]);

/** The first frame of the program (not greenio, not Node, not node_modules) in `stack`. */
function userSite(stack: string | undefined): string | undefined {
  if (stack === undefined) return undefined;
  for (const raw of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^()]+?):(\d+):(\d+)\)?$/.exec(raw.trim());
    if (m === null) continue;
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    if (OWN.some((p) => file.startsWith(p)) || file.includes(`${sep}node_modules${sep}`)) continue;
    return `${relative(process.cwd(), file)}:${m[2]}:${m[3]}`;
  }
  return undefined;
}

const spawnCh = diagnostics.channel('greenio:greenlet:spawn');
const ioStartCh = diagnostics.channel('greenio:io:start');

/** Greenlets spawned and ops started since `start()`, with the stack of each (formatted only if reported). */
class Tracker {
  readonly greenlets = new Map<Core, Error>();
  readonly ops = new Map<AnyOp, Error>();
  readonly #onSpawn = (m: unknown): void => {
    this.greenlets.set((m as { greenlet: Core }).greenlet, new Error('spawned'));
  };
  readonly #onIo = (m: unknown): void => {
    this.ops.set((m as { op: AnyOp }).op, new Error('started'));
  };
  start(): this {
    spawnCh.subscribe(this.#onSpawn);
    ioStartCh.subscribe(this.#onIo);
    return this;
  }
  stop(): void {
    spawnCh.unsubscribe(this.#onSpawn);
    ioStartCh.unsubscribe(this.#onIo);
  }
}

let current: Tracker | null = null;

// A timer its program unref'd is infrastructure (keep-alive, a timer wheel): not a leak.
function unrefTimer(op: AnyOp): boolean {
  const h = (op.data as { handle?: { hasRef?: () => boolean } } | null)?.handle;
  return (op.kind.name === 'timer' || op.kind.name === 'interval') && h?.hasRef?.() === false;
}

function opType(op: AnyOp): 'wait' | 'handle' | 'pending' {
  return op.isWait ? 'wait' : op.kind.resource ? 'handle' : 'pending';
}

const LABEL = { wait: 'waits on', handle: 'owns', pending: 'pending' } as const;

function ownerText(g: Core): string {
  return g.isMain ? 'main' : `#${g.id} ${greenletLabel(g)}${g.state === State.Dead ? ', dead' : ''}`;
}

/** Everything left now: greenlets alive and ops in flight that the tracker saw start (or every live one). */
function collect(t: Tracker | null): { leaks: Leak[]; greenlets: Greenlet[]; ops: AnyOp[] } {
  const leaks: Leak[] = [];
  const greenlets: Greenlet[] = [];
  const ops: AnyOp[] = [];
  const live = t === null ? hub.liveGreenlets().map((g) => [g, undefined] as const) : [...t.greenlets].filter(([g]) => g.state !== State.Dead);
  const leakedCores = new Set<Core>();
  for (const [g, e] of live) {
    const gl = g as Greenlet;
    const site = userSite(e?.stack ?? (gl.spawnStack === undefined ? undefined : `\n${gl.spawnStack}`));
    const held = hub.opsOf(g).map((op) => `${LABEL[opType(op)]} ${opText(op)}`);
    const what = `greenlet #${g.id} ${greenletLabel(g)} alive${held.length > 0 ? ` (${held.join('; ')})` : ' (suspended)'}`;
    leaks.push({ type: 'greenlet', name: `#${g.id} ${greenletLabel(g)}`, text: `${what}${site ? `, spawned at ${site}` : ''}`, site });
    greenlets.push(gl);
    leakedCores.add(g);
  }
  const candidates = t === null ? hub.opsOf(hub.main).map((op) => [op, undefined] as const) : [...t.ops];
  for (const [op, e] of candidates) {
    // A leaked greenlet's ops are listed on its line (and go with it); a greenlet alive
    // since before the test (a fixture's server loop) does its own business.
    const owner = op.flow.greenlet;
    if (op.settled || leakedCores.has(owner) || (!owner.isMain && owner.state !== State.Dead) || unrefTimer(op)) continue;
    const type = opType(op);
    const site = userSite(e?.stack);
    const verb = type === 'handle' ? 'opened' : type === 'wait' ? 'begun' : 'started';
    leaks.push({ type, name: op.kind.name, text: `${type === 'wait' ? 'wait' : type} ${opText(op)}, owned by ${ownerText(op.flow.greenlet)}${site ? `, ${verb} at ${site}` : ''}`, site });
    ops.push(op);
  }
  return { leaks, greenlets, ops };
}

const turn = (): Promise<void> => new Promise((r) => originalSetImmediate(r));
const pause = (ms: number): Promise<void> => new Promise((r) => originalSetTimeout(r, ms));

function checkLeakOptions(options: unknown): Required<Omit<LeakCheckOptions, 'ignore'>> & Pick<LeakCheckOptions, 'ignore'> {
  const o = checkOptions('options', options) as LeakCheckOptions;
  const graceMs = o.graceMs ?? 250;
  if (typeof graceMs !== 'number') throw new TypeError(expected('options.graceMs', 'a number of milliseconds >= 0', graceMs));
  if (!(graceMs >= 0) || graceMs === Infinity) throw new RangeError(expected('options.graceMs', 'a finite number of milliseconds >= 0', graceMs));
  const cleanup = o.cleanup ?? true;
  if (typeof cleanup !== 'boolean') throw new TypeError(expected('options.cleanup', 'a boolean', cleanup));
  if (o.ignore !== undefined) checkFunction('options.ignore', o.ignore);
  return { graceMs, cleanup, ignore: o.ignore };
}

async function check(t: Tracker | null, o: ReturnType<typeof checkLeakOptions>): Promise<void> {
  const deadline = performance.now() + o.graceMs;
  let found = collect(t);
  // Leaks that are only late (a killed greenlet unwinding, a socket closing) go away in a few turns.
  for (let i = 0; found.leaks.length > 0 && performance.now() < deadline; i++) {
    await (i < 8 ? turn() : pause(5));
    found = collect(t);
  }
  const ignore = o.ignore;
  const kept = ignore === undefined ? found.leaks : found.leaks.filter((l) => !ignore(l));
  if (kept.length === 0) return;
  if (o.cleanup) {
    const err = new GreenletExit('killed by the leak check');
    for (const op of found.ops) {
      // As the hub releases a dead greenlet's ops: settle, then abort silently.
      if (op.settled || !op.end()) continue;
      op.handler?.cancel?.(op, err, true);
    }
    await hub.outside(() => killAll(found.greenlets, err, { timeout: 1000 })).catch(() => undefined);
  }
  throw new LeakError(kept);
}

/**
 * Fail (reject with a `LeakError`) if greenlets are alive or operations in flight:
 * since the current test began under `installLeakCheck`, or, without it, any greenlet
 * alive and any operation of the main greenlet. Leaks get `graceMs` to go away, then are
 * named, killed and closed (`cleanup: false` leaves them).
 * @example
 * import { spawn, sleep } from 'greenio';
 * import { expectNoLeaks } from 'greenio/testing';
 * const g = spawn(() => sleep(10));
 * await g.join();
 * await expectNoLeaks(); // resolves: nothing left
 */
export function expectNoLeaks(options?: LeakCheckOptions): Promise<void> {
  const o = checkLeakOptions(options);
  return check(current, o);
}

/** The hooks of a test runner: Vitest's, Jest's and `node:test`'s `beforeEach`/`afterEach` all fit. */
export interface TestHooks {
  beforeEach(fn: () => unknown): unknown;
  afterEach(fn: () => unknown): unknown;
}

/**
 * Check every test of the file for leaks: `beforeEach` starts watching what greenio
 * spawns and starts, `afterEach` fails the test with a `LeakError` naming what is left.
 * @example
 * import { beforeEach, afterEach } from 'node:test';
 * import { installLeakCheck } from 'greenio/testing';
 * installLeakCheck({ beforeEach, afterEach });
 */
export function installLeakCheck(hooks: TestHooks, options?: LeakCheckOptions): void {
  if (hooks === null || typeof hooks !== 'object' || typeof hooks.beforeEach !== 'function' || typeof hooks.afterEach !== 'function') {
    throw new TypeError(expected('hooks', 'an object with beforeEach and afterEach functions', hooks));
  }
  const o = checkLeakOptions(options);
  // No parameters on purpose: node:test takes a hook with two for a callback-style one.
  hooks.beforeEach(() => {
    current?.stop();
    current = new Tracker().start();
  });
  hooks.afterEach(() => {
    const t = current;
    current = null;
    t?.stop();
    return check(t, o);
  });
}
