// `greenio ps PID` against a real process (test/fixtures/ps-target.ts): 1,000 greenlets in
// mixed waits (queue, lock, sleep, a socket read, fetch) under three supervisors. The tree
// and the waits are right, resources show holders and waiters, the target keeps serving
// HTTP while it is read and is left as it was (socket closed, nothing printed), and only a
// process running greenio answers.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PsGreenlet, PsSnapshot } from '../../src/instrument/ps.js';
import { greenio, startTarget, type Target } from './attach-helpers.js';

function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

describe('greenio ps PID', () => {
  let target: Target;
  let snap: PsSnapshot;
  let servedDuringRead = 0;
  let readMs = 0;

  beforeAll(async () => {
    target = await startTarget('ps-target.ts', [], { GREENIO_TRACK_GREENLET_TREE: '1' });
    // Requests go on while ps reads the process: each one answered counts.
    let reading = true;
    const load = (async () => {
      while (reading) {
        expect(await get(target.port)).toBe(200);
        servedDuringRead++;
      }
    })();
    const t0 = performance.now();
    const r = await greenio(['ps', '--json', String(target.pid)]);
    readMs = performance.now() - t0;
    reading = false;
    await load;
    expect(r.status, r.stderr).toBe(0);
    snap = JSON.parse(r.stdout) as PsSnapshot;
  }, 120_000);

  afterAll(async () => {
    await target?.stop();
  });

  const byFn = (fn: string): PsGreenlet[] => snap.greenlets.filter((g) => g.fn === fn);
  const named = (name: string): PsGreenlet => snap.greenlets.find((g) => g.name === name)!;

  it('prints a versioned JSON snapshot of the whole process', () => {
    expect(snap.schema).toBe('greenio.ps/3');
    expect(snap.pid).toBe(target.pid);
    expect(snap.counters.alive).toBe(1003);
    expect(snap.greenlets).toHaveLength(1004); // and main
    expect(snap.greenlets[0]).toMatchObject({ id: 0, name: 'main', parent: null });
  });

  it('gives each greenlet its parent: workers under their supervisor, supervisors under main', () => {
    for (const name of ['queues', 'locks', 'io']) expect(named(name).parent).toBe(0);
    expect(byFn('queueWorker').every((g) => g.parent === named('queues').id)).toBe(true);
    expect(byFn('lockWorker').every((g) => g.parent === named('locks').id)).toBe(true);
    expect(named('db-holder').parent).toBe(named('locks').id);
    for (const fn of ['sleeper', 'socketReader', 'fetcher']) expect(byFn(fn).every((g) => g.parent === named('io').id)).toBe(true);
  });

  it('gives each greenlet its state and current wait, with how long it has waited', () => {
    const kinds = (fn: string): string[] => [...new Set(byFn(fn).map((g) => `${g.state} ${g.waits.map((w) => w.kind).join(',')}`))];
    expect(byFn('queueWorker')).toHaveLength(400);
    expect(kinds('queueWorker')).toEqual(['waiting queue.get']);
    expect(byFn('lockWorker')).toHaveLength(199);
    expect(kinds('lockWorker')).toEqual(['waiting semaphore.acquire']);
    expect(byFn('sleeper')).toHaveLength(300);
    expect(kinds('sleeper')).toEqual(['waiting sleep']);
    expect(byFn('socketReader')).toHaveLength(50);
    expect(byFn('socketReader').every((g) => g.owns.some((o) => o.kind === 'net.socket'))).toBe(true);
    expect(byFn('fetcher')).toHaveLength(50);
    expect(byFn('fetcher').every((g) => g.waits.some((w) => w.text.includes(`/slow?token=REDACTED`)))).toBe(true);
    for (const g of snap.greenlets) for (const w of g.waits) expect(w.forMs).toBeGreaterThan(0);
  });

  it('shows where each greenlet was spawned (GREENIO_TRACK_GREENLET_TREE)', () => {
    const w = byFn('queueWorker')[0]!;
    expect(w.spawnedAt?.some((l) => /queueSupervisor \(.*ps-target\.ts:\d+:\d+\)/.test(l))).toBe(true);
  });

  it('lists the resources with their holder and their waiters', () => {
    const jobs = snap.resources.find((r) => r.name === 'jobs')!;
    expect(jobs.type).toBe('Queue');
    expect(jobs.holders).toEqual([]);
    expect(jobs.waiters).toHaveLength(400);
    const db = snap.resources.find((r) => r.name === 'db')!;
    expect(db.type).toBe('Lock');
    expect(db.holders).toEqual([{ greenlet: named('db-holder').id, forMs: expect.any(Number), dead: false }]);
    expect(db.waiters).toHaveLength(199);
    // A waiter's wait names the resource by its id.
    expect(byFn('lockWorker')[0]!.waits[0]!.resource).toBe(db.id);
  });

  it('never shows query values, nor anything of the fixture\'s secrets', () => {
    expect(JSON.stringify(snap)).not.toMatch(/token=abc/);
  });

  it('the target kept serving HTTP during the read', () => {
    expect(servedDuringRead).toBeGreaterThan(0);
    expect(readMs).toBeGreaterThan(0);
  });

  it('leaves the target as it was: socket closed, nothing printed, still serving', async () => {
    const dir = join(tmpdir(), `greenio-${process.getuid!()}`);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    // The socket closes when the client leaves (asynchronously, in the target).
    for (let i = 0; i < 100 && existsSync(join(dir, `${target.pid}.sock`)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(join(dir, `${target.pid}.sock`))).toBe(false);
    expect(existsSync(join(dir, `${target.pid}.req`))).toBe(false);
    expect(target.stdout().trim().split('\n')).toHaveLength(1); // only its ready line
    expect(target.stderr()).toBe('');
    expect(await get(target.port)).toBe(200);
  });

  it('prints the spawn tree as text, and can attach again', async () => {
    const r = await greenio(['ps', '--no-stacks', String(target.pid)]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^greenio ps, pid \d+ .*: 1003 greenlet\(s\) alive/);
    expect(r.stdout).toMatch(/^├─ #\d+ queues \(queueSupervisor\) \[waiting, up [\d.]+ (ms|s)\]$/m);
    expect(r.stdout).toMatch(/^│ {2}├─ #\d+ Greenlet-\d+ \(queueWorker\) \[waiting/m);
    expect(r.stdout).toMatch(/waits on: queue\.get Queue 'jobs' size=0 getters=400 putters=0 \(for [\d.]+ (ms|s)\)/);
    expect(r.stdout).toMatch(/^ {2}R\d+ <Lock 'db' counter=0, 199 waiting>\n {4}held by db-holder \(holdsDb\) \[#\d+\] for/m);
    expect(r.stdout).not.toMatch(/spawned at/);
  });
});

describe('greenio ps refusals', () => {
  it('a process without greenio does not answer, and the signal leaves it running', async () => {
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const r = await greenio(['ps', String(other.pid)]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/did not answer within \d+ ms: it does not run greenio/);
      expect(other.exitCode).toBeNull();
      expect(other.signalCode).toBeNull();
    } finally {
      other.kill('SIGKILL');
    }
  }, 30_000);

  it('a stopped process: says so at once, sends it nothing, and it runs on once continued', async () => {
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      other.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 100));
      const t0 = performance.now();
      const r = await greenio(['ps', String(other.pid)]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`greenio ps: process ${other.pid} is stopped (SIGSTOP, Ctrl-Z or a debugger): continue it (kill -CONT ${other.pid}) and ask again\n`);
      expect(performance.now() - t0).toBeLessThan(4000); // not the 5 s answer timeout
      other.kill('SIGCONT');
      await new Promise((r) => setTimeout(r, 300));
      expect(other.exitCode).toBeNull();
      expect(other.signalCode).toBeNull(); // no attach signal was left queued to kill it
    } finally {
      other.kill('SIGKILL');
    }
  }, 30_000);

  it('bad arguments: exit code 2 and one line', async () => {
    const r = await greenio(['ps', 'abc']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("greenio ps: expected a process id, got 'abc'\n");
    const none = await greenio(['ps', '999999999']);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/no process 999999999/);
  });
});
