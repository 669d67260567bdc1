/**
 * Run info (gevent's `print_run_info`): every live greenlet, as a spawn tree, with its
 * id, name, state, what it waits on and for how long, the handles it owns, and where it
 * was spawned (with `config.trackGreenletTree`). `enableRunInfoSignal()` prints it on
 * `SIGUSR2`, opt-in. Limits: a greenlet suspended on a promise greenio cannot see shows
 * as `suspended` with nothing to wait on; a signal is handled only when the loop turns.
 */
import { dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hub from '../hub/index.js';
import type { Greenlet } from '../greenlet.js';
import { opText, ms as fmtMs } from '../hub/index.js';
import { checkOptions, expected } from '../internal/validate.js';
import type { OpInfo } from './channels.js';
import { resourceLines, siteOf, snapshot } from './ps.js';

/** Where run info goes: `process.stderr`, a file stream, or anything with `write`. */
export interface TextSink {
  write(text: string): unknown;
}

/** Options of `formatRunInfo()`. */
export interface RunInfoOptions {
  /** Show spawn stacks (recorded only with `config.trackGreenletTree`; else where each greenlet's function is defined). Default true. */
  stacks?: boolean;
  /** The snapshot as one line of JSON (schema `greenio.ps/3`, as `greenio ps --json` gives). */
  json?: boolean;
}

/** `'running'` (current), `'waiting'`, `'suspended'` (awaiting nothing greenio sees), `'scheduled'`... */
export function stateOf(g: hub.Core): string {
  if (g.state === hub.State.Dead) return 'dead';
  if (g.state === hub.State.Created) return 'created';
  if (g.state === hub.State.Scheduled) return 'scheduled';
  if (hub.currentCore() === g) return 'running';
  return g.waitCount > 0 ? 'waiting' : 'suspended';
}

/** `14:03:07.123` (UTC) for a `performance.now()` time. */
export function clockTime(perfNow: number): string {
  return new Date(performance.timeOrigin + perfNow).toISOString().slice(11, 23);
}

/** `fs.readFile /tmp/x (for 1.2 s, since 14:03:07.123)`. */
export function opLine(op: OpInfo, now: number): string {
  return `${opText(op as hub.AnyOp)} (for ${fmtMs(now - op.since)}, since ${clockTime(op.since)})`;
}

// greenio's own frames (spawn, Greenlet, Pool) say nothing about where the program spawned.
const toolbox = `${dirname(dirname(fileURLToPath(import.meta.url)))}${sep}`;
const OWN = new RegExp(`${toolbox.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(greenlet|wait|(?:pool|hub)[\\\\/][\\w-]+)\\.[jt]s:`);

/** `#3 reader (readFifo)`; a default name is shown once: `#3 Greenlet-3 (readFifo)`. */
function title(g: Greenlet): string {
  return `#${g.id} ${g.name}${g.fnName ? ` (${g.fnName})` : ''}`;
}

/**
 * The run info of the whole program, as text: the main greenlet at the root of the
 * spawn tree, each live greenlet under the live greenlet that spawned it.
 * @example
 * import { formatRunInfo, spawn, sleep } from 'greenio';
 * const g = spawn(async function poll() { await sleep(1000); });
 * await sleep(0);
 * console.log(formatRunInfo()); // ... #1 Greenlet-1 (poll) [waiting] ... waits on: sleep 1000ms ...
 * await g.kill();
 */
export function formatRunInfo(options?: RunInfoOptions): string {
  const o = checkOptions('options', options);
  if (o.json !== undefined && typeof o.json !== 'boolean') throw new TypeError(expected('options.json', 'a boolean', o.json));
  if (o.json === true) return `${JSON.stringify(snapshot({ stacks: o.stacks !== false }))}\n`;
  const stacks = o.stacks !== false;
  const now = performance.now();
  const live = hub.liveGreenlets() as Greenlet[];
  const main = hub.main as Greenlet;
  const alive = new Set<hub.Core>(live);
  const children = new Map<hub.Core, Greenlet[]>();
  for (const g of live) {
    // Under its nearest live ancestor: a child outlives its parent often (gevent's tree does too).
    let p: Greenlet | null = g.parent;
    while (p !== null && p !== main && !alive.has(p)) p = p.parent;
    const key = p ?? main;
    let list = children.get(key);
    if (list === undefined) children.set(key, (list = []));
    list.push(g);
  }
  const c = hub.counters;
  const out = [
    `greenio run info, pid ${process.pid}, ${new Date().toISOString()}: ${c.alive} greenlet(s) alive (peak ${c.peak}, finished ${c.finished})`,
  ];
  const visit = (g: Greenlet, head: string, body: string): void => {
    const parent = g.parent;
    const adopted = parent !== null && parent !== main && !alive.has(parent) ? ` (spawned by ${title(parent)}, dead)` : '';
    out.push(`${head}${title(g)} [${stateOf(g)}${g.startedAt > 0 ? `, up ${fmtMs(now - g.startedAt)}` : ''}]${adopted}`);
    for (const op of hub.opsOf(g)) {
      const label = op.isWait ? 'waits on' : op.kind.resource ? 'owns' : 'pending';
      out.push(`${body}  ${label}: ${opLine(op, now)}`);
    }
    // Flows a timeout abandoned, still suspended where greenio cannot see.
    const lost = g.x === null ? null : g.x.unreached;
    if (lost !== null) for (const u of lost) out.push(`${body}  abandoned: ${u.what} (for ${fmtMs(now - u.since)}, since ${clockTime(u.since)})`);
    const stack = stacks ? g.spawnStack : undefined;
    if (stack) {
      out.push(`${body}  spawned at:`);
      for (const line of stack.split('\n')) if (!OWN.test(line)) out.push(`${body}    ${line.trim()}`);
    } else if (stacks) {
      // No spawn stack recorded (that costs a stack per spawn): where its function is.
      const site = siteOf(g);
      if (site !== null) out.push(`${body}  fn ${g.fnName || '(anonymous)'} at ${site}`);
    }
    const kids = children.get(g) ?? [];
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      visit(k, `${body}${last ? '└─ ' : '├─ '}`, `${body}${last ? '   ' : '│  '}`);
    });
  };
  visit(main, '', '');
  out.push(...resourceLines());
  return `${out.join('\n')}\n`;
}

/**
 * Write `formatRunInfo()` to `sink` (default `process.stderr`).
 * @example
 * import { printRunInfo } from 'greenio';
 * printRunInfo();
 */
export function printRunInfo(sink: TextSink = process.stderr, options?: RunInfoOptions): void {
  if (sink === null || typeof sink !== 'object' || typeof sink.write !== 'function') {
    throw new TypeError(expected('sink', 'an object with a write() method', sink));
  }
  sink.write(formatRunInfo(options));
}

const installed = new Map<NodeJS.Signals, () => void>();

/**
 * Print run info whenever the process receives `signal` (default `SIGUSR2`:
 * `kill -USR2 <pid>`). Returns the function that removes the handler. Never installed
 * unless called: a handler changes what the signal does to the process.
 * @example
 * import { enableRunInfoSignal } from 'greenio';
 * const disable = enableRunInfoSignal();
 * disable();
 */
export function enableRunInfoSignal(signal: NodeJS.Signals = 'SIGUSR2', sink: TextSink = process.stderr, options?: RunInfoOptions): () => void {
  const ro = checkOptions('options', options);
  if (ro.json !== undefined && typeof ro.json !== 'boolean') throw new TypeError(expected('options.json', 'a boolean', ro.json));
  if (typeof signal !== 'string' || !/^SIG[A-Z0-9]+$/.test(signal)) throw new TypeError(expected('signal', "a signal name such as 'SIGUSR2'", signal));
  if (signal === 'SIGKILL' || signal === 'SIGSTOP') throw new RangeError(expected('signal', 'a signal that can be handled', signal));
  installed.get(signal)?.();
  const handler = (): void => {
    // Outside any greenlet, so run info shows the program as it was, not this handler.
    hub.outside(() => printRunInfo(sink, options));
  };
  process.on(signal, handler);
  const disable = (): void => {
    process.removeListener(signal, handler);
    if (installed.get(signal) === disable) installed.delete(signal);
  };
  installed.set(signal, disable);
  return disable;
}
