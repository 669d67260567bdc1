/**
 * The `greenio` command (bin/greenio.js runs `main`). `greenio run` runs a script as
 * `node --import greenio/patch script args` in a child process, with its options passed
 * as `GREENIO_*` variables that the preload reads (trace, report, blocking monitor,
 * sync-IO mode), and exits as the script did (its code, or its signal). `greenio
 * report` turns a trace into a self-contained HTML timeline. Bad input: one line on
 * stderr and exit code 2. Limit: node flags for the script go through `NODE_OPTIONS`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Bad command-line input: reported on one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What `greenio run` was asked to do. */
export interface RunOptions {
  trace?: string;
  report: boolean;
  monitor: boolean;
  maxBlocking?: number;
  syncIO?: 'warn' | 'throw' | 'allow';
  /** `--workers N`: N processes, each its own hub, sharing listening ports (src/cluster.ts). */
  workers?: number;
  script: string;
  args: string[];
}

interface OptionSpec {
  flag: string;
  value?: string;
  help: string;
  /** Parsed, but not listed in --help (not available yet). */
  hidden?: boolean;
  set(o: RunOptions, value: string): void;
}

function number(flag: string, v: string, integer: boolean): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${flag} expects ${integer ? 'an integer' : 'a number of milliseconds'} > 0, got '${v}'`);
  }
  return n;
}

const RUN_OPTIONS: OptionSpec[] = [
  { flag: '--trace', value: 'FILE', help: 'write a Chrome trace (Perfetto, chrome://tracing) of the run to FILE at exit', set: (o, v) => (o.trace = resolve(v)) },
  { flag: '--report', help: 'print a per-greenlet IO summary table on stderr at exit', set: (o) => (o.report = true) },
  {
    flag: '--max-blocking', value: 'MS', help: 'run the blocking monitor: report event-loop stalls longer than MS ms',
    set: (o, v) => {
      o.maxBlocking = number('--max-blocking', v, false);
      o.monitor = true;
    },
  },
  { flag: '--monitor', help: 'run the blocking monitor at the default threshold (100 ms)', set: (o) => (o.monitor = true) },
  {
    flag: '--sync-io', value: 'MODE', help: "what a *Sync call inside a greenlet does: 'warn' (default), 'throw' or 'allow'",
    set: (o, v) => {
      if (v !== 'warn' && v !== 'throw' && v !== 'allow') throw new UsageError(`--sync-io expects warn, throw or allow, got '${v}'`);
      o.syncIO = v;
    },
  },
  // Multi-process hubs: parsed here, started in runCommand (src/cluster.ts).
  { flag: '--workers', value: 'N', help: 'run N processes of the script, each with its own hub, sharing its ports', set: (o, v) => (o.workers = number('--workers', v, true)) },
];

const HELP = `Usage: greenio <command> [options]

Commands:
  greenio run [options] script [args...]   run a script with all IO patched (node --import greenio/patch)
  greenio report TRACE.json [-o FILE]      write a self-contained HTML timeline of a trace
  greenio worker --queue NAME [options] processor.js
                                           run BullMQ jobs as greenlets (see greenio worker --help)

  greenio ps [--json] PID                  the greenlets of a live process: tree, waits, resources
  greenio top PID                          a live view of a process: busy, idle and scheduled time
  greenio <command> --help                 options of a command
  greenio --version
`;

const RUN_HELP = `Usage: greenio run [options] script [args...]

Runs \`node --import greenio/patch script args\` and exits with the script's exit code.

Options:
${RUN_OPTIONS.filter((o) => !o.hidden).map((o) => `  ${`${o.flag}${o.value ? ` ${o.value}` : ''}`.padEnd(20)}${o.help}`).join('\n')}
  -h, --help          this help

Node flags for the script: NODE_OPTIONS, e.g. NODE_OPTIONS='--import tsx' greenio run app.ts
`;

const REPORT_HELP = `Usage: greenio report TRACE.json [-o FILE]

Writes an HTML timeline of a trace (from greenio run --trace, or any Chrome trace-event
JSON): one lane per greenlet, IO waits coloured by kind, blocking events marked.
The page is self-contained (no network). Default FILE: TRACE.html beside the trace.

Options:
  -o, --output FILE   where to write the page
  --title TEXT        the page title
  -h, --help          this help
`;

/** Parse `greenio run`'s arguments (everything after `run`). Returns null for --help. */
export function parseRunArgs(argv: readonly string[]): RunOptions | null {
  const o: RunOptions = { report: false, monitor: false, script: '', args: [] };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (a === '-h' || a === '--help') return null;
    if (!a.startsWith('-') || a === '-') break;
    const eq = a.indexOf('=');
    const flag = eq < 0 ? a : a.slice(0, eq);
    const spec = RUN_OPTIONS.find((s) => s.flag === flag);
    if (spec === undefined) throw new UsageError(`unknown option '${flag}' for 'greenio run' (see greenio run --help)`);
    if (spec.value === undefined) {
      if (eq >= 0) throw new UsageError(`${flag} takes no value`);
      spec.set(o, '');
    } else {
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`${flag} expects ${spec.value}`);
      spec.set(o, v);
    }
  }
  if (i >= argv.length) throw new UsageError('greenio run: no script given (see greenio run --help)');
  o.script = argv[i]!;
  o.args = argv.slice(i + 1);
  return o;
}

/** `greenio/patch` as the script's project resolves it (its own greenio), else this package's. */
function preloadFor(script: string): string {
  try {
    return pathToFileURL(createRequire(script).resolve('greenio/patch')).href;
  } catch {
    // The script's project does not have greenio (a global install): use this copy.
  }
  const here = fileURLToPath(import.meta.url);
  const sibling = join(dirname(here), `patch${extname(here) === '.ts' ? '.ts' : '.js'}`);
  if (extname(here) === '.ts') {
    // Running from source (tests, tsx): the built preload, found through the package's exports.
    return pathToFileURL(createRequire(here).resolve('greenio/patch')).href;
  }
  return pathToFileURL(sibling).href;
}

/** Environment of the script's process for these options. */
export function runEnv(o: RunOptions, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  if (o.trace !== undefined) env.GREENIO_TRACE = o.trace;
  if (o.report) env.GREENIO_REPORT = '1';
  if (o.monitor) env.GREENIO_MONITOR = '1';
  if (o.maxBlocking !== undefined) env.GREENIO_MAX_BLOCKING_TIME = String(o.maxBlocking);
  if (o.syncIO !== undefined) env.GREENIO_SYNC_IO = o.syncIO;
  return env;
}

async function runCommand(argv: readonly string[]): Promise<number> {
  const o = parseRunArgs(argv);
  if (o === null) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const script = resolve(o.script);
  if (!existsSync(script) || !statSync(script).isFile()) throw new UsageError(`cannot find script '${o.script}'`);
  if (o.workers !== undefined) return runClustered(o, script, o.workers);
  const child = spawn(process.execPath, ['--import', preloadFor(script), script, ...o.args], { stdio: 'inherit', env: runEnv(o) });
  // The terminal sends SIGINT to the whole process group: the script gets it directly.
  const ignore = (): void => {};
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  process.on('SIGHUP', forward);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((res, rej) => {
    child.once('error', rej);
    child.once('exit', (c, s) => res([c, s]));
  });
  process.removeListener('SIGINT', ignore);
  process.removeListener('SIGTERM', forward);
  process.removeListener('SIGHUP', forward);
  if (signal !== null) {
    // Die of the same signal, so whoever started greenio sees what the script died of.
    process.kill(process.pid, signal);
    await new Promise((r) => setTimeout(r, 1000));
    return 128 + ((await import('node:os')).constants.signals[signal] ?? 0);
  }
  return code ?? 1;
}

/**
 * `--workers N`: this process becomes the cluster primary and runs N patched copies of
 * the script (src/cluster.ts), replacing any that die, until a signal stops them or a
 * crash loop ends the group (exit 1). Each worker writes its own trace file.
 */
async function runClustered(o: RunOptions, script: string, count: number): Promise<number> {
  const { runWorkers } = await import('./cluster.js');
  const env = runEnv(o, {}) as Record<string, string>;
  const group = runWorkers(count, script, {
    args: o.args,
    execArgv: ['--import', preloadFor(script)],
    env: o.trace === undefined ? env : { ...env, GREENIO_TRACE_PER_WORKER: '1' },
  });
  const stop = (): void => void group.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await group.wait();
    return 0;
  } catch (e) {
    process.stderr.write(`greenio: ${(e as Error).message}\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
}

async function reportCommand(argv: readonly string[]): Promise<number> {
  let input: string | undefined;
  let output: string | undefined;
  let title: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      process.stdout.write(REPORT_HELP);
      return 0;
    }
    if (a === '-o' || a === '--output' || a === '--title') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} expects ${a === '--title' ? 'TEXT' : 'FILE'}`);
      if (a === '--title') title = v;
      else output = v;
    } else if (a.startsWith('-')) {
      throw new UsageError(`unknown option '${a}' for 'greenio report' (see greenio report --help)`);
    } else if (input === undefined) {
      input = a;
    } else {
      throw new UsageError(`greenio report takes one trace file, got '${input}' and '${a}'`);
    }
  }
  if (input === undefined) throw new UsageError('greenio report: no trace file given (see greenio report --help)');
  let text: string;
  try {
    text = readFileSync(input, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read trace file '${input}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const { parseTrace, timelineHTML } = await import('./instrument/timeline.js');
  let html: string;
  try {
    html = timelineHTML(parseTrace(text), title === undefined ? undefined : { title });
  } catch (e) {
    throw new UsageError(`'${input}' is not a valid trace: ${(e as Error).message.split('\n')[0]}`);
  }
  const out = output ?? `${input.replace(/\.json$/i, '')}.html`;
  try {
    writeFileSync(out, html);
  } catch (e) {
    throw new UsageError(`cannot write '${out}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  process.stdout.write(`greenio: wrote ${out}\n`);
  return 0;
}

function version(): string {
  // Up from this file (src/ or dist/src/) to the package's own package.json.
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'greenio') return pkg.version ?? 'unknown';
    }
  }
  return 'unknown';
}

/**
 * Run the CLI with `argv` (the arguments after `greenio`); resolves to the exit code.
 * @example
 * // bin/greenio.js, in full:
 * import { main } from '../dist/src/cli.js';
 * process.exitCode = await main(process.argv.slice(2));
 */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === '-v' || command === '--version') {
      process.stdout.write(`${version()}\n`);
      return 0;
    }
    if (command === 'run') return await runCommand(rest);
    if (command === 'report') return await reportCommand(rest);
    if (command === 'ps' || command === 'top') {
      // Loaded only for these commands (attach to a live process: src/instrument/attach-cli.ts).
      const { attachCommand } = await import('./instrument/attach-cli.js');
      return await attachCommand(command, rest);
    }
    if (command === 'worker') {
      // Loaded only for this command: it needs the optional peer dependency bullmq.
      const { workerCommand } = await import('./bullmq/cli.js');
      return await workerCommand(rest);
    }
    throw new UsageError(`unknown command '${command}' (see greenio --help)`);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`greenio: ${e.message}\n`);
    return 2;
  }
}
