import { spawn as spawnChild, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent } from '../src/instrument/trace.js';
import { traceProblems } from './fixtures/instrument-trace-schema.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'greenio.js');
const built = join(root, 'dist', 'src', 'cli.js');

/** Newest modification time of the .ts files under `dir`. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

// The CLI runs the built package (bin/greenio.js imports dist/); build it when stale.
function ensureBuilt(): void {
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(newest(join(root, 'src')), newest(join(root, 'patches')))) return;
  spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
}

function greenio(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A bad-input run: exit code 2 and exactly one line on stderr. */
function expectUsageError(r: Run, message: RegExp): void {
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(message);
}

// Scripts live inside the repository, so `import 'greenio'` resolves through the
// package's own exports (and so does the CLI's `greenio/patch`).
mkdirSync(join(root, '.test-results'), { recursive: true });
const dir = mkdtempSync(join(root, '.test-results', 'cli-'));
const script = (name: string, source: string): string => {
  writeFileSync(join(dir, name), source);
  return name;
};

beforeAll(() => {
  ensureBuilt();
  script('hello.mjs', `console.log('hello', JSON.stringify(process.argv.slice(2)));\n`);
  script('exit3.mjs', `console.log('bye'); process.exitCode = 3;\n`);
  script('throws.mjs', `throw new Error('kaput');\n`);
  script('signal.mjs', `process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 5000);\n`);
  script('patched.mjs', `
import { isModulePatched } from 'greenio/monkey';
import { config } from 'greenio';
console.log(JSON.stringify({ fs: isModulePatched('fs'), net: isModulePatched('net'), syncIO: config.syncIO, env: Object.keys(process.env).filter((k) => /^GREENIO_(TRACE|REPORT|MONITOR)$/.test(k)) }));
`);
  script('work.mjs', `
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { spawn, joinAll, sleep, Queue } from 'greenio';
const q = new Queue();
const fetchers = [1, 2, 3].map((n) => {
  const g = spawn(async function fetchPage() {
    await readFile(new URL(import.meta.url));
    await readFile(new URL(import.meta.url));
    await sleep(20);
    await q.put(n);
  });
  g.name = 'fetcher-' + n;
  return g;
});
const sink = spawn(async function drain() { for (let i = 0; i < 3; i++) await q.get(); readFileSync(new URL(import.meta.url)); });
sink.name = 'sink';
const spinner = spawn(async function spin() {
  await sleep(10);
  const t0 = process.cpuUsage(); // 250 ms of CPU, however busy the machine is
  for (let c = { user: 0, system: 0 }; c.user + c.system < 250_000; c = process.cpuUsage(t0)); // BUSY
});
spinner.name = 'spinner';
await joinAll([...fetchers, sink, spinner]);
console.log('work done');
if (process.argv[2] === 'exit') process.exit(5);
`);
  script('strict.mjs', `
import { readFileSync } from 'node:fs';
import { spawn } from 'greenio';
const g = spawn(() => readFileSync(new URL(import.meta.url)));
await g.join();
console.log(g.exception?.code ?? 'no error');
`);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('greenio --help, --version', () => {
  it('prints the commands, and each command\'s options', () => {
    const top = greenio(['--help'], dir);
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/greenio run \[options\] script \[args\.\.\.\]/);
    expect(top.stdout).toMatch(/greenio report TRACE\.json \[-o FILE\]/);
    const run = greenio(['run', '--help'], dir);
    expect(run.status).toBe(0);
    for (const flag of ['--trace FILE', '--report', '--max-blocking MS', '--sync-io MODE', '--workers N']) expect(run.stdout).toContain(flag);
    const report = greenio(['report', '--help'], dir);
    expect(report.status).toBe(0);
    expect(report.stdout).toMatch(/-o, --output FILE/);
  });

  it('with no command prints the help and exits 2; --version prints the package version', () => {
    const none = greenio([], dir);
    expect(none.status).toBe(2);
    expect(none.stdout).toMatch(/^Usage: greenio/);
    const v = greenio(['--version'], dir);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version);
  });
});

describe('greenio run', () => {
  it('runs the script with its arguments and exits 0', () => {
    const r = greenio(['run', 'hello.mjs', 'a', '--b', 'c d'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('hello ["a","--b","c d"]\n');
  });

  it('passes the script\'s own exit code, an uncaught error\'s 1, and the signal it died of', () => {
    const three = greenio(['run', 'exit3.mjs'], dir);
    expect([three.status, three.stdout]).toEqual([3, 'bye\n']);
    const thrown = greenio(['run', 'throws.mjs'], dir);
    expect(thrown.status).toBe(1);
    expect(thrown.stderr).toMatch(/Error: kaput/);
    const killed = greenio(['run', 'signal.mjs'], dir);
    expect(killed.signal).toBe('SIGTERM');
  });

  it('preloads greenio/patch with the options as GREENIO_* settings (consumed by the preload)', () => {
    const plain = greenio(['run', 'patched.mjs'], dir);
    expect(plain.status, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout)).toEqual({ fs: true, net: true, syncIO: 'warn', env: [] });
    const withOpts = greenio(['run', '--sync-io', 'allow', '--report', '--trace', 'unused.json', 'patched.mjs'], dir);
    expect(JSON.parse(withOpts.stdout)).toEqual({ fs: true, net: true, syncIO: 'allow', env: [] });
  });

  it('--sync-io throw makes a *Sync call in a greenlet throw BlockingCallError', () => {
    const r = greenio(['run', '--sync-io=throw', 'strict.mjs'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('GREENIO_BLOCKING_CALL');
  });

  it('--report prints a per-greenlet IO table at exit, on stderr', () => {
    const r = greenio(['run', '--report', 'work.mjs'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('work done\n');
    const lines = r.stderr.split('\n');
    const at = lines.findIndex((l) => l.startsWith('greenio report'));
    expect(lines[at]).toMatch(/^greenio report \(pid \d+\): 5 greenlet\(s\) finished, 0 alive, peak 5 at once/);
    const head = lines[at + 1]!.split(/ {2,}/);
    expect(head.slice(0, 3)).toEqual(['greenlet', 'function', 'lifetime']);
    expect(head).toEqual(expect.arrayContaining(['fs.readFile', 'sleep', 'queue.get', 'sync calls']));
    const row = (label: string): Record<string, string> => {
      const cells = lines.find((l) => l.startsWith(label))!.split(/ {2,}/);
      return Object.fromEntries(head.map((h, i) => [h, cells[i] ?? '']));
    };
    expect(row('#1 fetcher-1')).toMatchObject({ function: 'fetchPage', 'fs.readFile': expect.stringMatching(/^2 \/ /), sleep: expect.stringMatching(/^1 \/ \d+ ms$/), 'sync calls': '-' });
    expect(row('#4 sink')).toMatchObject({ function: 'drain', 'queue.get': expect.stringMatching(/^3 \/ /), 'sync calls': expect.stringMatching(/^1 \/ /) });
    // The fetchers' 6 reads, and main's (Node's module loader reads files through fs.readFile).
    const totalReads = lines.find((l) => l.startsWith('total'))!.split(/ {2,}/)[head.indexOf('fs.readFile') - 2]!;
    expect(Number.parseInt(totalReads, 10)).toBeGreaterThanOrEqual(6);
  });

  it('--trace FILE writes a valid trace at exit, even when the script calls process.exit()', () => {
    // out/ does not exist: the trace cannot be written, which is said, and changes no exit code.
    const r = greenio(['run', '--trace', 'out/trace.json', 'work.mjs', 'exit'], dir, {});
    expect(r.status).toBe(5);
    expect(r.stderr).toMatch(/greenio: cannot write the trace or report: ENOENT/);
    mkdirSync(join(dir, 'out'));
    const ok = greenio(['run', '--trace', 'out/trace.json', 'work.mjs', 'exit'], dir);
    expect(ok.status).toBe(5);
    const doc = JSON.parse(readFileSync(join(dir, 'out', 'trace.json'), 'utf8')) as { traceEvents: TraceEvent[] };
    expect(traceProblems(doc)).toEqual([]);
    const tracks = doc.traceEvents.filter((e) => e.name === 'thread_name' && e.args?.lane === 0).map((e) => e.args?.name);
    expect(tracks).toEqual(['main', 'fetcher-1 (fetchPage)', 'fetcher-2 (fetchPage)', 'fetcher-3 (fetchPage)', 'sink (drain)', 'spinner (spin)']);
    expect(doc.traceEvents.filter((e) => e.ph === 'X' && e.name === 'fs.readFile' && e.args?.greenlet !== 0)).toHaveLength(6);
  });

  it('--max-blocking MS runs the blocking monitor: a busy greenlet is reported with its file:line', () => {
    const busyLine = readFileSync(join(dir, 'work.mjs'), 'utf8').split('\n').findIndex((l) => l.includes('// BUSY')) + 1;
    const r = greenio(['run', '--max-blocking', '100', 'work.mjs'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`greenio: the event loop was blocked for [\\d.]+ m?s \\(max 100 ms(, [\\d.]+ m?s of it off the CPU)?\\): spinner \\(spin\\) was running at spin \\(.*work\\.mjs:${busyLine}:\\d+\\)`));
    const quiet = greenio(['run', '--max-blocking', '1000', 'work.mjs'], dir);
    expect(quiet.stderr).not.toMatch(/event loop was blocked/);
  });

  it('works for a script outside any project that has greenio (the CLI\'s own copy is preloaded)', () => {
    const outside = mkdtempSync(join(tmpdir(), 'greenio-cli-'));
    try {
      const index = pathToFileURL(join(root, 'dist', 'src', 'index.js')).href;
      writeFileSync(join(outside, 'app.mjs'), `import { spawn, sleep } from '${index}';\nconst g = spawn(async function nap() { await sleep(5); });\nawait g.join();\n`);
      const r = greenio(['run', '--report', 'app.mjs'], outside);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/#1 Greenlet-1 +nap +[\d.]+ ms .*1 \/ [\d.]+ ms/);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('rejects bad input with exit code 2 and one line', () => {
    expectUsageError(greenio(['run'], dir), /^greenio: greenio run: no script given/);
    expectUsageError(greenio(['run', 'missing.mjs'], dir), /^greenio: cannot find script 'missing\.mjs'$/m);
    expectUsageError(greenio(['run', '--frobnicate', 'hello.mjs'], dir), /unknown option '--frobnicate' for 'greenio run'/);
    expectUsageError(greenio(['run', '--max-blocking', 'soon', 'hello.mjs'], dir), /--max-blocking expects a number of milliseconds > 0, got 'soon'/);
    expectUsageError(greenio(['run', '--max-blocking', '0', 'hello.mjs'], dir), /--max-blocking expects/);
    expectUsageError(greenio(['run', '--sync-io', 'maybe', 'hello.mjs'], dir), /--sync-io expects warn, throw or allow, got 'maybe'/);
    expectUsageError(greenio(['run', '--trace'], dir), /--trace expects FILE/);
    expectUsageError(greenio(['run', '--report=yes', 'hello.mjs'], dir), /--report takes no value/);
    expectUsageError(greenio(['run', '--workers', '2', 'missing.mjs'], dir), /cannot find script 'missing\.mjs'/);
    expectUsageError(greenio(['run', '--workers', 'two', 'hello.mjs'], dir), /--workers expects an integer > 0, got 'two'/);
    expectUsageError(greenio(['launch'], dir), /unknown command 'launch'/);
  });
});

describe('greenio report', () => {
  it('turns a trace into a self-contained HTML timeline (default name: TRACE.html)', () => {
    expect(greenio(['run', '--trace', 'tl.json', 'work.mjs'], dir).status).toBe(0);
    const r = greenio(['report', 'tl.json', '-o', 'timeline.html'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('greenio: wrote timeline.html\n');
    const html = readFileSync(join(dir, 'timeline.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('fetcher-1 (fetchPage)');
    expect(html).not.toMatch(/<script[^>]+src=|https?:\/\//);
    const d = greenio(['report', 'tl.json', '--title', 'my run'], dir);
    expect(d.status).toBe(0);
    expect(readFileSync(join(dir, 'tl.html'), 'utf8')).toContain('<title>my run</title>');
  });

  it('rejects a missing, unreadable or malformed trace, and bad options, with exit code 2 and one line', () => {
    writeFileSync(join(dir, 'broken.json'), '{"traceEvents": [');
    writeFileSync(join(dir, 'other.json'), '{"rows": []}');
    writeFileSync(join(dir, 'badevent.json'), '[{"name":"x","ph":"X","ts":0,"pid":1,"tid":1}]');
    expectUsageError(greenio(['report'], dir), /no trace file given/);
    expectUsageError(greenio(['report', 'nope.json'], dir), /^greenio: cannot read trace file 'nope\.json': ENOENT$/m);
    expectUsageError(greenio(['report', '.'], dir), /^greenio: cannot read trace file '\.': EISDIR$/m);
    expectUsageError(greenio(['report', 'broken.json'], dir), /^greenio: 'broken\.json' is not a valid trace: /);
    expectUsageError(greenio(['report', 'other.json'], dir), /'other\.json' is not a valid trace: not a Chrome trace/);
    expectUsageError(greenio(['report', 'badevent.json'], dir), /trace event 0 \(a complete event\) has no numeric `dur`/);
    expectUsageError(greenio(['report', 'tl.json', '-o'], dir), /-o expects FILE/);
    expectUsageError(greenio(['report', 'tl.json', '--zoom'], dir), /unknown option '--zoom' for 'greenio report'/);
    expectUsageError(greenio(['report', 'tl.json', 'tl2.json'], dir), /takes one trace file/);
    expectUsageError(greenio(['report', 'tl.json', '-o', 'no/such/dir/x.html'], dir), /cannot write 'no\/such\/dir\/x\.html': ENOENT/);
  });
});

describe('greenio run --workers N', () => {
  it('runs N patched processes of a server sharing its port, and stops them on SIGTERM', async () => {
    script('shared-server.mjs', `
import http from 'node:http';
import { isModulePatched } from 'greenio/monkey';
const server = http.createServer((req, res) => res.end(String(process.pid)));
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready', process.pid, isModulePatched('fs')));
`);
    const port = await freePort();
    const child = spawnChild(process.execPath, [bin, 'run', '--workers', '2', 'shared-server.mjs'], { cwd: dir, env: { ...process.env, PORT: String(port) } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      for (let i = 0; i < 300 && (out.match(/^ready/gm) ?? []).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      expect(out.match(/^ready \d+ true$/gm)).toHaveLength(2);
      const pids = new Set<string>();
      for (let i = 0; i < 40 && pids.size < 2; i++) pids.add(await (await fetch(`http://127.0.0.1:${port}/`)).text());
      expect(pids.size).toBe(2);
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  }, 60_000);
});
