/**
 * greenio/testing under Jest: a child run of Jest (ESM mode, on this Node) over the .mjs
 * fixtures of test/fixtures/testing/jest/, which import the built dist (`npm run build`
 * first). The leak check fails each leaking test naming what it left and where; the
 * timeout dump comes before Jest's own timeout; withVirtualTime runs minutes in milliseconds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = 'test/fixtures/testing/jest';
// A child Jest run starts in seconds, more on a busy machine.
const CHILD_MS = 180_000;
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `dir/file:line:column` of the first line of `file` holding `code` (V8 points a method call at its name: `at`). */
function siteOf(file: string, code: string, at = 0): string {
  const lines = readFileSync(`${root}${dir}/${file}`, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(code));
  expect(i, code).toBeGreaterThanOrEqual(0);
  return `${dir}/${file}:${i + 1}:${lines[i]!.indexOf(code) + at + 1}`;
}

/** One child run of Jest on one fixture file: its exit code and all it printed. */
function jest(file: string): { status: number | null; out: string } {
  const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' };
  const args = ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js', '--config', `${dir}/jest.config.mjs`, '--runInBand', '--ci', `${dir}/${file}`];
  const r = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8', timeout: 150_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

beforeAll(() => {
  if (!existsSync(`${root}dist/src/testing/index.js`)) throw new Error('the Jest fixtures import the built package: run `npm run build` first');
});

describe('greenio/testing under Jest (node --experimental-vm-modules, .mjs tests on dist)', () => {
  it('the leak check fails each test that leaks a greenlet, a socket, a timer, naming each with its spawn site', () => {
    const { status, out } = jest('leaky.test.mjs');
    expect(status, out).toBe(1);
    expect(out).toMatch(/Tests:\s+3 failed, 1 passed, 4 total/);
    for (const name of ['leaks a greenlet', 'leaks a socket', 'leaks a timer']) expect(out).toContain(`● ${name}`);
    expect(out).not.toContain('● leaves nothing');
    const port = /PORT (\d+)/.exec(out)?.[1];
    expect(port, out).toBeDefined();
    const head = 'LeakError: the test left 1 greenlet\\(s\\) or operation\\(s\\) behind:\\s+';
    expect(out).toMatch(new RegExp(`${head}greenlet #\\d+ Greenlet-\\d+ \\(poller\\) alive \\(waits on sleep 1000ms\\), spawned at ${esc(siteOf('leak-cases.mjs', 'spawn(async function poller'))}`));
    expect(out).toMatch(new RegExp(`${head}handle net\\.socket 127\\.0\\.0\\.1:${port}, owned by #\\d+ Greenlet-\\d+ \\(dial\\), dead, opened at ${esc(siteOf('leak-cases.mjs', 'net.connect(port', 'net.'.length))}`));
    expect(out).toMatch(new RegExp(`${head}pending timer 3600000, owned by main, started at ${esc(siteOf('leak-cases.mjs', 'setTimeout(() => {}, 3_600_000)'))}`));
  }, CHILD_MS);

  it('the timeout dump prints every greenlet before Jest times the test out', () => {
    const { status, out } = jest('hang.test.mjs');
    expect(status, out).toBe(1);
    const dump = out.indexOf('greenio: the test still runs after 1000 ms; every greenlet now:');
    const timedOut = out.indexOf('Exceeded timeout of 4000 ms for a test');
    expect(dump, out).toBeGreaterThanOrEqual(0);
    expect(timedOut, out).toBeGreaterThan(dump);
    expect(out.slice(dump)).toMatch(/#0 main \[running[^\n]*\n\s+waits on: join Greenlet-(\d+) \(awaitingReply\)[^\n]*\n[^\n]*#\1 Greenlet-\1 \(awaitingReply\) \[waiting[^\n]*\n\s+waits on: event\.wait <Event clear, 1 waiting>/);
    // The leak check then names and kills the greenlet the timed-out test left waiting.
    expect(out).toMatch(new RegExp(`greenlet #\\d+ Greenlet-\\d+ \\(awaitingReply\\) alive \\(waits on event\\.wait <Event clear, 1 waiting>\\), spawned at ${esc(siteOf('hang.test.mjs', 'spawn(async function awaitingReply'))}`));
  }, CHILD_MS);

  it('withVirtualTime runs 10 minutes of exponential back-off in under a second: sleep(), timers/promises setTimeout, Date.now()', () => {
    const { status, out } = jest('virtual.test.mjs');
    expect(status, out).toBe(0);
    expect(out).toMatch(/Tests:\s+2 passed, 2 total/);
    const seen = /VIRTUAL (\{.*\}) WALL (\d+)/.exec(out);
    expect(seen, out).not.toBeNull();
    expect(JSON.parse(seen![1]!)).toEqual({ tries: [0, 1, 3, 7, 15, 31, 63, 127, 255, 511].map((s) => s * 1000), at: 600_000, dateStep: 600_000 });
    expect(Number(seen![2])).toBeLessThan(1000);
    // timers/promises through its namespace (Jest copies named imports of builtins), 1023 s of waits.
    const timers = /TIMERS (\[.*\]) WALL (\d+)/.exec(out);
    expect(timers, out).not.toBeNull();
    expect(JSON.parse(timers![1]!)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((s) => s * 1000));
    expect(Number(timers![2])).toBeLessThan(1000);
  }, CHILD_MS);
});
