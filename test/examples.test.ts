/**
 * Every example runs, in its own process on the Node running the tests, and prints what
 * it teaches: these tests read that output. Each example registers here through
 * `example()`; the last test fails for any script or folder in examples/ that has no
 * check, so a new example cannot land untested. Timings are asserted as generous ratios
 * only (a shared 2-core machine), orders and counts exactly.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(fileURLToPath(new URL('..', import.meta.url)));
const examplesDir = join(repo, 'examples');
const RUN_TIMEOUT = 120_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: string[];
  ms: number;
}

/** `node [nodeArgs] file [args]` from the repository root; resolves when it exits on its own. */
function run(file: string, nodeArgs: string[] = ['--import', 'tsx'], args: string[] = []): Promise<Run> {
  // The examples' behaviour must not depend on the environment of the test run.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GREENIO_') && k !== 'NODE_OPTIONS'));
  const start = performance.now();
  return new Promise((done) => {
    execFile(process.execPath, [...nodeArgs, join(examplesDir, file), ...args], { cwd: repo, env, timeout: RUN_TIMEOUT - 10_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      done({ code, stdout, stderr, lines: stdout.split('\n').filter((l) => l !== ''), ms: performance.now() - start });
    });
  });
}

/** Fail with the example's output, which says far more than the assertion. */
function expectClean(r: Run, allowStderr = false): void {
  const context = `exit code ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  expect(r.code, context).toBe(0);
  if (!allowStderr) expect(r.stderr, context).toBe('');
}

const index = (lines: string[], pattern: RegExp): number => lines.findIndex((l) => pattern.test(l));
const number = (text: string, pattern: RegExp): number => {
  const m = pattern.exec(text);
  if (!m) throw new Error(`no match for ${pattern} in:\n${text}`);
  return Number(m[1]);
};

const covered = new Set<string>();
/** Register the check of an example (and of helper files only it uses). */
function example(files: string | string[], name: string, fn: () => Promise<void>): void {
  for (const f of [files].flat()) covered.add(f);
  it(name, fn, RUN_TIMEOUT);
}

beforeAll(() => {
  if (!existsSync(join(repo, 'dist/src/index.js'))) throw new Error('examples import the built package: run `npm run build` first');
});

describe('examples', () => {
  example('01-futures-callbacks.ts', '01: done callbacks print each result while the main greenlet keeps ticking', async () => {
    const r = await run('01-futures-callbacks.ts');
    expectClean(r);
    const mainPid = number(r.stdout, /main: pid (\d+)/);
    const results = r.lines.map((l, i) => [l, i] as const).filter(([l]) => /\bresult\s/.test(l));
    expect(results.map(([l]) => /result\s+(\w+\s+#\d)/.exec(l)![1]!.replace(/\s+/, ' ')).sort()).toEqual(['process #1', 'process #2', 'thread #1', 'thread #2']);
    for (const [line] of results) {
      const pid = number(line, /in pid (\d+)/);
      if (line.includes('thread')) expect(pid).toBe(mainPid);
      else expect(pid).not.toBe(mainPid);
    }
    // The main greenlet was never blocked: it ticked before, between and while results came in.
    const first = results[0]![1];
    const last = results.at(-1)![1];
    const ticks = r.lines.map((l, i) => [l, i] as const).filter(([l]) => /\btick\s/.test(l)).map(([, i]) => i);
    expect(ticks.some((i) => i < first)).toBe(true);
    expect(ticks.some((i) => i > first && i < last)).toBe(true);
    expect(r.lines.at(-1)).toMatch(/done: 4 results by callback, pools closed/);
  });

  example('02-worker-callback.ts', '02: a hand-made worker and a pool both deliver the result to a callback, after the call returned', async () => {
    const r = await run('02-worker-callback.ts');
    expectClean(r);
    const at = (p: RegExp): number => index(r.lines, p);
    expect(at(/^worker: runInThread returned at once/)).toBeGreaterThan(at(/^worker: counting primes/));
    expect(at(/^worker: callback got 17984 primes$/)).toBeGreaterThan(at(/^worker: runInThread returned at once/));
    expect(at(/^pool: +submit returned at once/)).toBeGreaterThan(at(/^worker: callback got/));
    expect(at(/^pool: +callback got 17984 primes$/)).toBeGreaterThan(at(/^pool: +submit returned at once/));
    expect(r.lines.at(-1)).toBe('pool:   closed');
  });

  example('03-queue-kinds.ts', '03: FIFO, LIFO and priority orders, the TypeError for unordered items, and compare', async () => {
    const r = await run('03-queue-kinds.ts');
    expectClean(r);
    expect(r.lines).toContain('Queue:         3:write report, 1:fix outage, 2:review PR, 1:answer pager');
    expect(r.lines).toContain('LifoQueue:     1:answer pager, 2:review PR, 1:fix outage, 3:write report');
    expect(r.lines).toContain('PriorityQueue: 1:answer pager, 1:fix outage, 2:review PR, 3:write report');
    expect(r.stdout).toMatch(/without compare: TypeError: PriorityQueue cannot order .*site down.*slow page/);
    expect(r.stdout).toContain('the queue still holds 1 item(s)');
    expect(r.lines).toContain('with compare:  site down, slow page, typo');
  });

  example('04-event.ts', '04: no client connects before the server is ready; producers pause and resume around the limit', async () => {
    const r = await run('04-event.ts');
    expectClean(r);
    const listening = index(r.lines, /^server listening on 127\.0\.0\.1:\d+$/);
    expect(listening).toBeGreaterThan(-1);
    for (const n of [1, 2, 3]) {
      expect(index(r.lines, new RegExp(`^client ${n} waiting$`))).toBeLessThan(listening);
      expect(index(r.lines, new RegExp(`^client ${n} connected, got "hello\\\\n"$`))).toBeGreaterThan(listening);
    }
    // The watcher alternates, starting with a pause, and the count never passed the limit.
    const watcher = r.lines.filter((l) => l.startsWith('watcher:')).map((l) => (l.endsWith('pause') ? 'pause' : 'resume'));
    expect(watcher.length).toBeGreaterThanOrEqual(2);
    watcher.forEach((w, i) => expect(w).toBe(i % 2 === 0 ? 'pause' : 'resume'));
    expect(r.lines.filter((l) => /^producer P[12]: made 6 jobs$/.test(l))).toHaveLength(2);
    const peak = number(r.stdout, /jobs done: 12, peak open workers: (\d+) \(limit 4\)/);
    expect(peak).toBeLessThanOrEqual(4);
  });

  example('05-generator-coroutines.ts', '05: interleaving CPU work with generator switches gives the same results, no faster', async () => {
    const r = await run('05-generator-coroutines.ts');
    expectClean(r);
    const serial = number(r.stdout, /^serial\s+([\d.]+) ms/m);
    const interleaved = number(r.stdout, /^interleaved\s+([\d.]+) ms/m);
    expect(r.stdout).toMatch(/^serial .*result \[933331666668,933331666668\]$/m);
    expect(r.stdout).toMatch(/^interleaved .*result \[933331666668,933331666668\]$/m);
    expect(r.stdout).toContain('switches: 4,000,002');
    expect(interleaved).toBeGreaterThan(serial);
    expect(r.stdout).toMatch(/interleaved \/ serial: [\d.]+x the time/);
  });

  example('06-explicit-switching.ts', '06: two greenlets hand control back and forth: A1 B1 A2 B2 A3 B3', async () => {
    const r = await run('06-explicit-switching.ts');
    expectClean(r);
    expect(r.lines.filter((l) => /^[AB]\d$/.test(l))).toEqual(['A1', 'B1', 'A2', 'B2', 'A3', 'B3']);
    expect(r.lines.at(-1)).toBe('order: A1 B1 A2 B2 A3 B3');
    expect(r.lines[0]).toBe('A starts (control from main)');
  });

  example('07-spawn-joinall-patched.ts', '07 (plain): greenlets overlap IO; greenio cannot see the waits, and the timeout abandons the fetch it cannot abort', async () => {
    const r = await run('07-spawn-joinall-patched.ts');
    expectClean(r, true);
    // One line, for the one call site greenio could not reach.
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/withTimeout\(300 ms\) in .*slow-request.* could not interrupt/);
    expect(r.lines[0]).toMatch(/^not patched/);
    expect(r.stdout.match(/item-\d+ \(work\) \[suspended/g)).toHaveLength(10);
    expect(r.stdout).not.toContain('waits on: fetch');
    const serial = number(r.stdout, /serial:\s+(\d+) ms for 10 items/);
    const concurrent = number(r.stdout, /concurrent:\s+(\d+) ms for 10 items/);
    expect(serial / concurrent).toBeGreaterThanOrEqual(2); // ideally 10
    const timedOut = number(r.stdout, /slow request: timed out after (\d+) ms/);
    expect(timedOut).toBeGreaterThanOrEqual(290);
    expect(timedOut).toBeLessThan(1500); // on time, though the fetch itself went on
    expect(r.stdout).toMatch(/as the server saw it: answered in full/);
  });

  example('07-spawn-joinall-patched.ts', '07 (patched): run-info names each fetch, and the timed-out request is aborted', async () => {
    const r = await run('07-spawn-joinall-patched.ts', ['--import', 'tsx', '--import', 'greenio/patch']);
    expectClean(r);
    expect(r.lines[0]).toMatch(/^patched/);
    for (let id = 1; id <= 10; id++) {
      expect(r.stdout).toMatch(new RegExp(`item-${id} \\(work\\) \\[waiting[^\\n]*\\n[│ ]*waits on: fetch GET http://127\\.0\\.0\\.1:\\d+/item/${id} `));
    }
    const serial = number(r.stdout, /serial:\s+(\d+) ms for 10 items/);
    const concurrent = number(r.stdout, /concurrent:\s+(\d+) ms for 10 items/);
    expect(serial / concurrent).toBeGreaterThanOrEqual(2);
    const timedOut = number(r.stdout, /slow request: timed out after (\d+) ms/);
    expect(timedOut).toBeGreaterThanOrEqual(290);
    expect(timedOut).toBeLessThan(1500); // well before the page's 1.5 s
    expect(r.stdout).toMatch(/as the server saw it: connection closed by the client after \d+ ms, before any answer/);
  });

  example(['08-processes-x-greenlets.ts', '08-processes-x-greenlets.task.ts'], '08: greenlets, in one process or in several, beat serial requests by far', async () => {
    const r = await run('08-processes-x-greenlets.ts');
    expectClean(r);
    const processes = number(r.stdout, /(\d+) child processes ready/);
    expect(processes).toBeGreaterThanOrEqual(2);
    const row = (label: RegExp): { ms: number; speedup: number; pages: number; pids: number } => {
      const m = new RegExp(`^${label.source}\\s+(\\d+) ms\\s+([\\d.]+)x\\s+(\\d+) pages in (\\d+) process`, 'm').exec(r.stdout);
      if (!m) throw new Error(`no row ${label} in:\n${r.stdout}`);
      return { ms: Number(m[1]), speedup: Number(m[2]), pages: Number(m[3]), pids: Number(m[4]) };
    };
    const greenlets = row(/greenlets: 1 process x 50/);
    const both = row(new RegExp(`processes x greenlets: ${processes} x 50`));
    expect(row(/serial: 1 process, 1 at a time/).pages).toBe(400);
    expect([greenlets.pages, greenlets.pids]).toEqual([400, 1]);
    expect([both.pages, both.pids]).toEqual([400, processes]);
    // The ideal is ~20x (400 requests of 20 ms, 50 at a time); the machine is shared.
    expect(greenlets.speedup).toBeGreaterThanOrEqual(2);
    expect(both.speedup).toBeGreaterThanOrEqual(2);
  });

  example('crawler', 'crawler demo: crawls the site under greenio run, prints the IO report and writes timeline.html', async () => {
    const out = mkdtempSync(join(tmpdir(), 'greenio-demo-'));
    try {
      const r = await run('crawler/demo.mjs', [], ['--out', out]);
      expectClean(r, true); // the IO report is printed on stderr, as `greenio run --report` does
      expect(r.ms).toBeLessThan(60_000);
      expect(r.stdout).toMatch(/^patched: a page over budget has its request aborted$/m);
      expect(r.stdout).toMatch(/^progress +[\d.]+ s: +\d+ pages done/m);
      // The site is deterministic: 300 pages + the home page, 14 dead links.
      const summary = /crawled (\d+) URLs in [\d.]+ s: (\d+) ok, 14 x HTTP 404, 9 x HTTP 500, (\d+) timed out, 6 failed; (\d+) off-site links skipped/.exec(r.stdout);
      expect(summary, r.stdout).not.toBeNull();
      const [, urls, ok, timedOut] = summary!.map(Number);
      expect(urls).toBe(315);
      expect(timedOut).toBeGreaterThanOrEqual(10); // the ten 3-second pages, at least
      expect(ok! + timedOut!).toBe(286);
      expect(r.stdout.match(/no answer within 800 ms, request aborted/g)?.length).toBe(timedOut);
      // The CLI's per-greenlet IO report.
      expect(r.stderr).toMatch(/^greenio report \(pid \d+\): \d+ greenlet\(s\) finished/m);
      expect(r.stderr).toMatch(/^greenlet +function +lifetime .*fetch/m);
      expect(r.stderr).toMatch(/^#\d+ \/page\/\d+ +crawlPage +\d+ ms/m);
      expect(r.stderr).toMatch(/^total +.*\d+ \/ [\d.]+ m?s/m);
      // The trace and its HTML timeline.
      const trace = JSON.parse(readFileSync(join(out, 'crawl-trace.json'), 'utf8')) as { traceEvents: Array<{ args?: { name?: string } }> };
      expect(trace.traceEvents.some((e) => e.args?.name === '/page/0')).toBe(true);
      const html = join(out, 'timeline.html');
      expect(statSync(html).size).toBeGreaterThan(1000);
      expect(readFileSync(html, 'utf8')).toMatch(/<html/i);
      expect(r.stdout).toContain(`timeline: file://${html}`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('every script and folder in examples/ has a check, here or in a test file that runs it', () => {
    const entries = readdirSync(examplesDir).filter((name) => statSync(join(examplesDir, name)).isDirectory() || /\.(ts|mts|cts|js|mjs|cjs)$/.test(name));
    // An example with a test file of its own (e.g. one that needs services) names its
    // path there, as `examples/<name>`.
    const otherTests = readdirSync(join(repo, 'test'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.test.ts') && f !== 'examples.test.ts')
      .map((f) => readFileSync(join(repo, 'test', f), 'utf8'));
    const testedElsewhere = (name: string): boolean => otherTests.some((text) => text.includes(`examples/${name}`));
    expect(entries.filter((name) => !covered.has(name) && !testedElsewhere(name))).toEqual([]);
    expect([...covered].filter((name) => !entries.includes(name))).toEqual([]);
  });
});
