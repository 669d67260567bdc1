import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Event, spawn, sleep } from '../../src/index.js';
import { hub } from './hub.js';
import { LeakError, expectNoLeaks, installLeakCheck, type TestHooks } from '../../src/testing/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cases = readFileSync(new URL('../fixtures/testing/leak-cases.ts', import.meta.url), 'utf8').split('\n');
/** `test/fixtures/testing/leak-cases.ts:line:column` of the first line holding `code` (V8 points a method call at its name: `at`). */
function siteOf(code: string, at = 0): string {
  const i = cases.findIndex((l) => l.includes(code));
  return `test/fixtures/testing/leak-cases.ts:${i + 1}:${cases[i]!.indexOf(code) + at + 1}`;
}
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Vitest prints `LeakError: ...`, node:test `Error [LeakError]: ...`.
const HEAD = '(?:LeakError|Error \\[LeakError\\]): the test left';

/** The three leaks, each named with its kind, owner and the line of leak-cases.ts that made it. */
function expectThreeLeaksNamed(out: string): void {
  const port = /PORT (\d+)/.exec(out)?.[1];
  expect(port).toBeDefined();
  expect(out).toMatch(new RegExp(`${HEAD} 1 greenlet\\(s\\) or operation\\(s\\) behind:\\s+greenlet #\\d+ Greenlet-\\d+ \\(poller\\) alive \\(waits on sleep 1000ms\\), spawned at ${esc(siteOf('spawn(async function poller'))}`));
  expect(out).toMatch(new RegExp(`${HEAD} 1 greenlet\\(s\\) or operation\\(s\\) behind:\\s+handle net\\.socket 127\\.0\\.0\\.1:${port}, owned by #\\d+ Greenlet-\\d+ \\(dial\\), dead, opened at ${esc(siteOf('net.connect(port', 'net.'.length))}`));
  expect(out).toMatch(new RegExp(`${HEAD} 1 greenlet\\(s\\) or operation\\(s\\) behind:\\s+pending timer 3600000, owned by main, started at ${esc(siteOf('setTimeout(() => {}, 3_600_000)'))}`));
}

const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', TSX_DISABLE_CACHE: '1' };

describe('the leak check fails each test that leaks, naming what it left', () => {
  it('under Vitest (a child run of test/fixtures/testing/leaky.vitest.ts)', () => {
    const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/testing/vitest.config.ts', '--reporter=verbose'], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
    const out = r.stdout + r.stderr;
    expect(r.status, out).toBe(1);
    expect(out).toMatch(/Tests\s+3 failed \| 1 passed \(4\)/);
    expect(out).toMatch(/✓ [^\n]*leaves nothing/);
    for (const name of ['leaks a greenlet', 'leaks a socket', 'leaks a timer']) expect(out).toMatch(new RegExp(`× [^\\n]*${name}`));
    expectThreeLeaksNamed(out);
  });

  it('under node:test (node --test on test/fixtures/testing/leaky.node-test.ts)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/fixtures/testing/leaky.node-test.ts'], { cwd: root, env, encoding: 'utf8', timeout: 120_000 });
    const out = r.stdout + r.stderr;
    expect(r.status, out).toBe(1);
    expect(out).toMatch(/pass 1\n/);
    expect(out).toMatch(/fail 3\n/);
    expect(out).toMatch(/✔ leaves nothing/);
    for (const name of ['leaks a greenlet', 'leaks a socket', 'leaks a timer']) expect(out).toMatch(new RegExp(`✖ ${name}`));
    expectThreeLeaksNamed(out);
  });
});

/** A runner of one test: the hooks installLeakCheck registers, run around `body`. */
async function runOne(body: () => unknown, options?: Parameters<typeof installLeakCheck>[1]): Promise<unknown> {
  const before: Array<() => unknown> = [];
  const after: Array<() => unknown> = [];
  const hooks: TestHooks = { beforeEach: (f) => before.push(f), afterEach: (f) => after.push(f) };
  installLeakCheck(hooks, options);
  for (const f of before) await f();
  await body();
  try {
    for (const f of after) await f();
  } catch (e) {
    return e;
  }
  return null;
}

describe('expectNoLeaks and installLeakCheck', () => {
  it('pass a test that joined its greenlets and cleared its waits', async () => {
    expect(await runOne(async () => {
      const gs = [spawn(() => sleep(5)), spawn(() => sleep(1))];
      for (const g of gs) await g.join();
    })).toBeNull();
    await expectNoLeaks();
  });

  it('name a greenlet left waiting, kill it, and count only what the test started', async () => {
    const before = spawn(() => sleep(60_000)); // started before the test: not its leak
    let left: ReturnType<typeof spawn> | null = null;
    const err = await runOne(() => {
      const e = new Event();
      left = spawn(async function waiter() {
        await e.wait();
      });
    });
    expect(err).toBeInstanceOf(LeakError);
    const leaks = (err as LeakError).leaks;
    expect(leaks.map((l) => [l.type, l.name])).toEqual([['greenlet', `#${left!.id} Greenlet-${left!.id} (waiter)`]]);
    expect(leaks[0]!.text).toMatch(/waits on event\.wait <Event clear, 1 waiting>/);
    expect(leaks[0]!.site).toMatch(/^test\/testing\/leaks\.test\.ts:\d+:\d+$/);
    expect(left!.dead).toBe(true);
    expect(before.dead).toBe(false);
    await before.kill();
  });

  it('with cleanup: false, leave the leaks alone; with ignore, allow some', async () => {
    let g: ReturnType<typeof spawn> | null = null;
    const err = await runOne(() => void (g = spawn(() => sleep(60_000))), { cleanup: false, graceMs: 0 });
    expect((err as LeakError).code).toBe('GREENIO_LEAK');
    expect(g!.dead).toBe(false);
    await g!.kill();
    expect(await runOne(() => void spawn(async function allowed() { await sleep(20); }), { ignore: (l) => l.name.endsWith('(allowed)'), graceMs: 0 })).toBeNull();
  });

  it('give a greenlet that is about to finish its grace period', async () => {
    expect(await runOne(() => void spawn(() => sleep(30)), { graceMs: 5000 })).toBeNull();
  });

  it('without installLeakCheck, expectNoLeaks checks every live greenlet', async () => {
    const g = spawn(async function stuck() {
      await sleep(60_000);
    });
    const err = await expectNoLeaks({ graceMs: 10 }).catch((e: unknown) => e);
    expect((err as LeakError).leaks.map((l) => l.name)).toEqual([`#${g.id} Greenlet-${g.id} (stuck)`]);
    expect(g.dead).toBe(true);
    expect(hub.liveGreenlets()).toEqual([]);
  });

  it('reject bad arguments, quoting them', () => {
    expect(() => expectNoLeaks({ graceMs: -5 })).toThrow(new RangeError('Expected `options.graceMs` to be a finite number of milliseconds >= 0, got `-5` (number)'));
    expect(() => expectNoLeaks({ cleanup: 'yes' as never })).toThrow(new TypeError("Expected `options.cleanup` to be a boolean, got `'yes'` (string)"));
    expect(() => installLeakCheck({ beforeEach: () => {} } as never)).toThrow(TypeError);
    expect(() => installLeakCheck(null as never)).toThrow(new TypeError('Expected `hooks` to be an object with beforeEach and afterEach functions, got `null`'));
  });
});
