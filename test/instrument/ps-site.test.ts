// `greenio ps PID` with no set-up in the target (test/fixtures/ps-site.ts): each greenlet
// shows where its function is defined, read at snapshot time through an in-process
// inspector session, once per function (1,000 greenlets of one function: one lookup), and
// the target is left as it was (every Debugger.enable disabled again, no port opened).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PsSnapshot } from '../../src/instrument/ps.js';
import { greenio, startTarget, type Target } from './attach-helpers.js';

const source = readFileSync(fileURLToPath(new URL('../fixtures/ps-site.ts', import.meta.url)), 'utf8').split('\n');
const lineOf = (text: string): number => source.findIndex((l) => l.includes(text)) + 1;

interface Report {
  callsBefore: number;
  calls: string[];
  inspectorUrl: string | null;
  runInfo: string;
}

describe('greenio ps PID without set-up: the site of each greenlet function', () => {
  let target: Target;
  let snap: PsSnapshot;
  let text: string;
  let report: Report;

  beforeAll(async () => {
    target = await startTarget('ps-site.ts');
    const j = await greenio(['ps', '--json', String(target.pid)]);
    expect(j.status, j.stderr).toBe(0);
    snap = JSON.parse(j.stdout) as PsSnapshot;
    const t = await greenio(['ps', String(target.pid)]);
    expect(t.status, t.stderr).toBe(0);
    text = t.stdout;
    const seen = target.stdout().length;
    target.child.kill('SIGUSR2');
    const deadline = Date.now() + 30_000;
    while (!target.stdout().slice(seen).includes('\n') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    report = JSON.parse(target.stdout().slice(seen).split('\n')[0]!) as Report;
  }, 120_000);

  afterAll(async () => {
    await target?.stop();
  });

  it('gives each greenlet the file:line:column of its function, without spawn stacks', () => {
    expect(snap.schema).toBe('greenio.ps/3');
    const parked = snap.greenlets.filter((g) => g.fn === 'parked');
    const other = snap.greenlets.filter((g) => g.fn === 'otherParked');
    expect(parked).toHaveLength(1000);
    expect(other).toHaveLength(3);
    const want = new RegExp(`ps-site\\.ts:${lineOf('async function parked(')}:\\d+$`);
    for (const g of parked) {
      expect(g.spawnedAt).toBeNull();
      expect(g.fnSite).toMatch(want);
    }
    for (const g of other) expect(g.fnSite).toMatch(new RegExp(`ps-site\\.ts:${lineOf('const other = async function')}:\\d+$`));
    expect(snap.greenlets[0]).toMatchObject({ id: 0, fnSite: null }); // main has no function
  });

  it('prints it as the function\'s site in ps and run-info text', () => {
    expect(text).toMatch(new RegExp(`#1 Greenlet-1 \\(parked\\) \\[waiting.*\\n.*waits on: sleep 3600000ms.*\\n.*fn parked at .*ps-site\\.ts:${lineOf('async function parked(')}:\\d+\\n`));
    expect(text).not.toMatch(/spawned at:/);
    expect(report.runInfo).toMatch(new RegExp(`fn otherParked at .*ps-site\\.ts:${lineOf('const other = async function')}:\\d+`));
  });

  it('pays nothing per spawn, one lookup per function, and leaves no inspector domain enabled', () => {
    expect(report.callsBefore).toBe(0); // 1,003 spawns: no session, no call
    const count = (m: string): number => report.calls.filter((c) => c === m).length;
    // Two snapshots (json, text) and run-info over 1,003 greenlets: one lookup per function.
    expect(count('Runtime.evaluate')).toBe(2);
    expect(count('Runtime.getProperties')).toBe(2);
    expect(count('Runtime.releaseObject')).toBe(2);
    expect(count('Debugger.enable')).toBeGreaterThanOrEqual(1);
    expect(count('Debugger.enable')).toBe(count('Debugger.disable'));
    // Each enable is followed by its disable before anything else is asked.
    report.calls.forEach((c, i) => {
      if (c === 'Debugger.enable') expect(report.calls[i + 1]).toBe('Debugger.disable');
    });
    expect(report.calls.filter((c) => /\.enable$/.test(c) && c !== 'Debugger.enable')).toEqual([]);
    expect(report.inspectorUrl).toBeNull(); // no inspector port was opened
  });
});
