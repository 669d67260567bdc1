import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';

type Out = {
  outside: boolean;
  inside: Record<string, unknown>;
  reports: Array<{ call: string; greenlet: string; site: string; durationMs: number }>;
  readLine: number;
  execLine: number;
};

describe("syncIO: 'warn'", () => {
  const r = runFixture('patch-sync.ts', ['warn']);
  const out = r.json as unknown as Out;
  it('reports readFileSync and execSync inside a greenlet, with greenlet, duration and call site', () => {
    expect(r.status, r.stderr).toBe(0);
    expect(out.inside).toEqual({ read: true, exec: true, required: true });
    const read = out.reports.find((x) => x.call === 'fs.readFileSync')!;
    const exec = out.reports.find((x) => x.call === 'child_process.execSync')!;
    expect(read.greenlet).toBe('sync-user');
    expect(read.site).toMatch(new RegExp(`patch-sync\\.ts:${out.readLine}:\\d+`));
    expect(exec.site).toMatch(new RegExp(`patch-sync\\.ts:${out.execLine}:\\d+`));
    expect(exec.durationMs).toBeGreaterThanOrEqual(40);
    expect(r.stderr).toMatch(new RegExp(`child_process\\.execSync\\(\\) blocked the event loop for \\d+\\.\\d ms in sync-user \\(reader\\) at .*patch-sync\\.ts:${out.execLine}`));
  });
  it('does not report the files require() reads, nor calls outside greenlets', () => {
    expect(out.reports.map((x) => x.call).sort()).toEqual(['child_process.execSync', 'fs.readFileSync']);
    expect(out.outside).toBe(true);
  });
});

describe("syncIO: 'throw'", () => {
  const r = runFixture('patch-sync.ts', ['throw']);
  const out = r.json as unknown as Out;
  it('refuses sync calls inside a greenlet with BlockingCallError naming the call', () => {
    expect(r.status, r.stderr).toBe(0);
    expect(out.inside).toEqual({ read: 'BlockingCallError:fs.readFileSync', exec: 'BlockingCallError:child_process.execSync', required: true });
  });
  it('changes nothing outside greenlets', () => {
    expect(out.outside).toBe(true);
    expect(out.reports).toEqual([]);
  });
});

describe("syncIO: 'allow'", () => {
  it('runs and counts sync calls without reporting them', () => {
    const r = runFixture('patch-sync.ts', ['allow']);
    const out = r.json as unknown as Out;
    expect(out.inside).toEqual({ read: true, exec: true, required: true });
    expect(out.reports).toEqual([]);
    expect(r.stderr).not.toMatch(/blocked the event loop/);
  });
});
