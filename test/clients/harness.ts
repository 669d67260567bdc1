/**
 * What the client test files share: a real server started for the file (stopped after it),
 * the patched-fixture runner of the Redis client tests, and the kill/timeout × ESM/CJS
 * matrix of the SQL client tests. Not a test file itself (no `.test.` in its name).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { sharedRun } from '../shared-run.js';

/** Start a server before the file's tests and stop it after; call the getter inside tests. */
export function useServer<T extends { stop(): Promise<void> }>(start: () => Promise<T>, timeoutMs: number): () => T {
  let server: T | undefined;
  beforeAll(async () => {
    server = await start();
  }, timeoutMs);
  afterAll(async () => {
    await server?.stop();
  });
  return () => server!;
}

/** The preload a user passes as `node --import greenio/patch`, from the source. */
export const preload = ['--import', fileURLToPath(new URL('../../src/patch.ts', import.meta.url))];

export type RedisFixtureOut = Record<string, Record<string, unknown>> & { patched: boolean; version: string; reconnects: number };

/** Run the Redis client fixture `fixture` patched against the server on `port()`, with `cases`. */
export function redisFixtureRunner(fixture: string, port: () => number) {
  return (cases: string[], env: Record<string, string> = {}): RedisFixtureOut => {
    const r = runFixture(fixture, [String(port()), ...cases], env, preload);
    expect(r.status, r.stderr).toBe(0);
    return r.json as RedisFixtureOut;
  };
}

/**
 * The client tests run against the installed client and against its newest major
 * (client-majors/, see test/run-fixture.ts): what users get from `npm install` today, and
 * the line most of them still have.
 */
export const MAJORS = ['installed', 'next major'] as const;
export type Major = (typeof MAJORS)[number];

/** A client line a Redis test file runs its cases against: its name, its fixture env, its version. */
export interface ClientLine {
  name: string;
  env: Record<string, string>;
  version: RegExp;
}

/**
 * `run` for one client line, checking the client's version on every output. Each call's
 * cases must be in `plan` (`patched`, or `unpatched` for a call that turns the integration
 * off with GREENIO_NO_PATCH); each of the two runs all of its plan's cases in one process,
 * made at its first call, and every test reads its case from that output (a fixture
 * process costs seconds to start, many more on a loaded machine: one per case made these
 * files the suite's longest). The fixtures keep the cases apart (their own keys and
 * clients) and run `unpatch`, which undoes the patch, last.
 */
export function runForLine(run: RedisRun, line: ClientLine, plan: { patched: string[]; unpatched: string[] }): RedisRun {
  const memo = new Map<string, RedisFixtureOut>();
  return (cases, env = {}) => {
    const key = env.GREENIO_NO_PATCH === undefined ? 'patched' : 'unpatched';
    const missing = cases.filter((c) => !plan[key].includes(c));
    if (missing.length > 0) throw new Error(`runForLine: cases ${missing.join(', ')} are not in the ${key} plan`);
    let out = memo.get(key);
    if (out === undefined) {
      out = run(plan[key], { ...env, ...line.env });
      expect(out.version).toMatch(line.version);
      memo.set(key, out);
    }
    return out;
  };
}

/** The SQL client matrix: each of ESM/CJS × kill/timeout runs `fixture` once; `more` adds its own tests on that run's output. */
export function describeCancelMatrix(o: {
  lib: string;
  fixture: string;
  env: () => Record<string, string>;
  /** The import styles to run (default both). */
  modes?: readonly ('esm' | 'cjs')[];
  /** The interrupts to run (default both). */
  hows?: readonly ('kill' | 'timeout')[];
  cases: readonly string[];
  /** Title of the per-case cancel test (starts with `%s: `). */
  cancelledTitle: string;
  /** Title of the per-case run-info test. */
  runInfoTitle: string;
  more(out: Record<string, unknown>): void;
}): void {
  const modes = o.modes ?? ['esm', 'cjs'];
  describe.each(
    modes.flatMap((m) =>
      ([
        [m, 'kill', 'GreenletExit'],
        [m, 'timeout', 'TimeoutError'],
      ] as const).filter(([, how]) => o.hows === undefined || o.hows.includes(how)),
    ),
  )(`${o.lib} (%s import), a %s`, (mode, how, errorName) => {
    // Filled in place before the tests, so that `more` can hold on to it; a failed run is
    // retried once (sharedRun), as a failed test would be.
    const out: Record<string, unknown> = {};
    sharedRun(() => Object.assign(out, runFixture(o.fixture, [mode, how], o.env()).json), 90_000);

    it.each(o.cases)(o.cancelledTitle, (c) => {
      const r = out[c] as Record<string, unknown>;
      expect(r.error).toBe(errorName);
      expect(r.unwound).toBe(true); // its finally ran: unwound by the wait, not abandoned
      expect(r.serverCancelledWithin1s).toBe(true);
      expect(r.backWithin1s).toBe(true); // a pool has the connection back
      expect(r.usable).toBe(true);
    });

    it.each(o.cases)(o.runInfoTitle, (c) => {
      expect((out[c] as Record<string, unknown>).runInfoNamesOp).toBe(true);
    });

    o.more(out);
  });
}

type RedisRun = ReturnType<typeof redisFixtureRunner>;

/** The late-reply test both Redis clients pass alike (inside their shared-client describe). */
export function itDropsLateReply(run: RedisRun): void {
  it("a timed-out command's late reply is dropped, and the next command gets its own reply", () => {
    const l = run(['late-reply']).lateReply!;
    expect(l.r).toBe('timed out');
    expect(l.ms as number).toBeLessThan(350); // the server was busy for 400 ms
    expect(l.next).toBe('B');
    expect(l.dropped as number).toBeGreaterThanOrEqual(1);
  }, 60_000);
}

/** The unpatch and own-connection describes both Redis clients pass alike. */
export function describeUnpatchAndOwnConnection(lib: string, run: RedisRun): void {
  describe(`${lib}, unpatched again`, () => {
    it('unpatchAll() restores the exact original methods, and patchAll() wraps the loaded client again', () => {
      expect(run(['unpatch']).unpatch).toEqual({ wasPatched: true, restored: true, plainPing: 'PONG', again: true, sameOriginal: true });
    }, 60_000);
  });

  describe(`${lib}, connection made inside the greenlet`, () => {
    it('the kill does not destroy it: no reconnect loop, the finally runs, nothing leaks', () => {
      expect(run(['own-connection']).ownConnection).toEqual({ finallyRan: true, reconnects: 0, usable: 'PONG', leaked: 0 });
    }, 60_000);
  });
}
