// "A timeout stays a timeout when a library wraps it" (API.md): once a withTimeout's
// Timeout fired, an error fn rejects with that holds the TimeoutError (in its `cause`
// chain, or where ORMs keep a wrapped error: `parent`, `driverError`...) is that timeout;
// a greenlet whose error wraps its kill error ends as killed.
import { describe, expect, it } from 'vitest';
import { GreenletExit, Timeout, TimeoutError, sleep, spawn, withTimeout } from '../src/index.js';
import { runFixture } from './run-fixture.js';

/** What a client library does with the error it was aborted with (axios, got, undici...). */
class LibraryError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'LibraryError';
  }
}

/** fn as a library runs it: any failure of its wait comes back wrapped, `depth` times. */
const wrapped = (depth: number) => async (): Promise<string> => {
  try {
    await sleep(10_000);
    return 'answered';
  } catch (e) {
    let err: unknown = e;
    for (let i = 0; i < depth; i++) err = new LibraryError(`request failed (${i})`, err);
    throw err;
  }
};

describe('withTimeout and a wrapped TimeoutError', () => {
  it('resolves to timeoutValue when fn rejects with an error wrapping its TimeoutError', async () => {
    expect(await withTimeout(20, wrapped(1), { timeoutValue: 'timed out' })).toBe('timed out');
    expect(await withTimeout(20, wrapped(3), { timeoutValue: undefined })).toBe(undefined);
  });

  it('rejects with its TimeoutError, the library\'s error as the cause', async () => {
    const e = await withTimeout(20, wrapped(2)).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(TimeoutError);
    const te = e as TimeoutError;
    expect(te.timeout).toBeInstanceOf(Timeout);
    expect(te.timeout!.ms).toBe(20);
    expect(te.cause).toBeInstanceOf(LibraryError);
    const inner = ((te.cause as LibraryError).cause as LibraryError).cause;
    expect(inner).toBeInstanceOf(TimeoutError);
    expect((inner as TimeoutError).timeout).toBe(te.timeout);
  });

  it('leaves an error that does not wrap its timeout as it is, even after the deadline', async () => {
    // Deliberately narrow: a failure of fn's own (a bug in a finally block, a refused
    // connection) that happens to come after the deadline must not read as a timeout.
    const own = new Error('unrelated failure');
    const e = await withTimeout(20, async () => {
      try {
        await sleep(10_000);
      } catch {
        throw own;
      }
    }, { timeoutValue: 'timed out' }).catch((err: unknown) => err);
    expect(e).toBe(own);
  });

  it('leaves an outer timeout, wrapped, to the outer withTimeout', async () => {
    let innerSaw: unknown;
    const v = await withTimeout(20, async () => {
      try {
        await withTimeout(10_000, wrapped(1));
      } catch (e) {
        innerSaw = e;
        throw e;
      }
    }, { timeoutValue: 'outer timed out' });
    expect(v).toBe('outer timed out');
    expect(innerSaw).toBeInstanceOf(LibraryError); // not the inner timeout's: it did not fire
  });

  it('stops at a cause cycle', async () => {
    const e = await withTimeout(20, async () => {
      try {
        await sleep(10_000);
      } catch {
        const a = new LibraryError('a', null);
        const b = new LibraryError('b', a);
        (a as { cause: unknown }).cause = b;
        throw a;
      }
    }, { timeoutValue: 'timed out' }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(LibraryError);
  });
});

describe('where libraries keep the error they wrapped', () => {
  /** fn whose failure comes back as `shape` makes it (an ORM's own error class). */
  const keptIn = (shape: (inner: unknown) => unknown) => async (): Promise<string> => {
    try {
      await sleep(10_000);
      return 'answered';
    } catch (e) {
      throw shape(e);
    }
  };
  // Sequelize: DatabaseError { parent, original }; TypeORM: QueryFailedError { driverError };
  // objection: DBError { nativeError }; a library's Promise.any: AggregateError { errors }.
  const shapes: Array<[string, (inner: unknown) => unknown]> = [
    ['parent and original (Sequelize)', (inner) => Object.assign(new Error('SequelizeDatabaseError'), { parent: inner, original: inner })],
    ['driverError (TypeORM)', (inner) => Object.assign(new Error('QueryFailedError'), { driverError: inner })],
    ['nativeError (objection)', (inner) => Object.assign(new Error('DBError'), { nativeError: inner })],
    ['errors of an AggregateError', (inner) => new AggregateError([new Error('first attempt'), inner], 'all attempts failed')],
    ['cause of an original (two kinds of wrapping)', (inner) => Object.assign(new Error('outer'), { original: new LibraryError('inner', inner) })],
  ];

  it.each(shapes)('withTimeout counts its timeout kept in %s', async (_, shape) => {
    expect(await withTimeout(20, keptIn(shape), { timeoutValue: 'timed out' })).toBe('timed out');
    const e = await withTimeout(20, keptIn(shape)).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(TimeoutError);
    expect((e as TimeoutError).cause).toBeInstanceOf(Error);
    expect((e as TimeoutError).cause).not.toBeInstanceOf(TimeoutError);
  });

  it.each(shapes)('a greenlet whose kill is kept in %s ends killed', async (_, shape) => {
    const g = spawn(keptIn(shape));
    await sleep(0);
    await g.kill();
    expect(g.successful()).toBe(true);
    expect(g.value).toBeInstanceOf(GreenletExit);
  });

  it('stops at a cycle across fields, and looks at no more than 32 errors', async () => {
    const cyclic = await withTimeout(20, keptIn(() => {
      const a: Error & { original?: unknown } = new Error('a');
      const b = Object.assign(new Error('b'), { parent: a });
      a.original = b;
      return a;
    }), { timeoutValue: 'timed out' }).catch((err: unknown) => err);
    expect(cyclic).toBeInstanceOf(Error);
    expect(cyclic).not.toBeInstanceOf(TimeoutError);
    // The timeout 40 errors deep is beyond the bound: fn's own failure, as it is.
    let deepest: unknown;
    const deep = await withTimeout(20, keptIn((inner) => {
      let e: unknown = inner;
      for (let i = 0; i < 40; i++) e = Object.assign(new Error(`level ${i}`), { parent: e });
      deepest = e;
      return e;
    }), { timeoutValue: 'timed out' }).catch((err: unknown) => err);
    expect(deep).toBe(deepest);
  });

  it('counts an error that copied its code and message but dropped it (node-fetch), never another greenio error', async () => {
    // node-fetch: new FetchError(`request to ${url} failed, reason: ${err.message}`, 'system', err) keeps only err.code.
    const copy = (inner: unknown): Error => {
      const err = inner as { code: string; message: string };
      return Object.assign(new Error(`request to http://x/ failed, reason: ${err.message}`), { code: err.code, type: 'system' });
    };
    const e = await withTimeout(20, keptIn(copy)).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(TimeoutError);
    expect(((e as TimeoutError).cause as Error).message).toContain('timed out after 20 ms');
    const g = spawn(keptIn(copy));
    await sleep(0);
    await g.kill();
    expect(g.value).toBeInstanceOf(GreenletExit);
    // The code alone, with another message: fn's own failure.
    const codeOnly = Object.assign(new Error('something else'), { code: 'GREENIO_TIMEOUT' });
    expect(await withTimeout(20, keptIn(() => codeOnly)).catch((err: unknown) => err)).toBe(codeOnly);
    // Another Timeout's error with the same code and message is that Timeout's, not this one's.
    const other = new TimeoutError(new Timeout(20), 'timed out after 20 ms');
    expect(await withTimeout(20, keptIn(() => other)).catch((err: unknown) => err)).toBe(other);
  });

  it('a field that merely names another error is not a wrapping of the timeout', async () => {
    const own = Object.assign(new Error('own failure'), { parent: new Error('unrelated'), errors: ['not', 'errors'] });
    const e = await withTimeout(20, keptIn(() => own), { timeoutValue: 'timed out' }).catch((err: unknown) => err);
    expect(e).toBe(own);
  });
});

describe('timeout.matches(error)', () => {
  it('is true for its own error and for a library\'s error wrapping it, false for another Timeout\'s and before it fired', async () => {
    const sequelizeLike = (inner: unknown): Error => Object.assign(new Error('SequelizeDatabaseError'), { parent: inner, original: inner });
    const g = spawn(async () => {
      const outer = Timeout.startNew(10_000);
      const t = Timeout.startNew(20);
      const before = t.matches(new Error('x'));
      let caught: unknown;
      try {
        try {
          await sleep(10_000);
        } catch (e) {
          throw sequelizeLike(e);
        }
      } catch (e) {
        caught = e;
      } finally {
        t.cancel();
        outer.cancel();
      }
      return { before, caught, t, outer };
    });
    const r = (await g.get()) as { before: boolean; caught: Error; t: Timeout; outer: Timeout };
    expect(r.before).toBe(false);
    expect(r.caught.message).toBe('SequelizeDatabaseError');
    expect(r.t.matches(r.caught)).toBe(true);
    expect(r.t.matches((r.caught as { parent?: unknown }).parent)).toBe(true);
    expect(r.outer.matches(r.caught)).toBe(false);
    expect(r.t.matches(new Error('unrelated'))).toBe(false);
    expect(r.t.matches(undefined)).toBe(false);
  });

  it('with an error of the user\'s own: matches that error, wrapped or not', async () => {
    const mine = new Error('deadline passed');
    const t = new Timeout(20, mine);
    const g = spawn(async () => {
      t.start();
      try {
        await sleep(10_000);
      } catch (e) {
        return new LibraryError('request failed', e);
      }
    });
    const wrapped = (await g.get()) as Error;
    expect(t.matches(wrapped)).toBe(true);
    expect(t.matches(mine)).toBe(true);
  });
});

describe('a kill, wrapped', () => {
  it('a greenlet rejecting with an error wrapping its GreenletExit ends killed: successful, the exit as value', async () => {
    const g = spawn(wrapped(2));
    await sleep(0);
    await g.kill();
    expect(g.successful()).toBe(true);
    expect(g.value).toBeInstanceOf(GreenletExit);
    expect(g.exception).toBe(undefined);
  });

  it('with a custom kill error: it fails with that error itself', async () => {
    const stop = new Error('stop');
    const g = spawn(wrapped(1));
    await sleep(0);
    await g.kill(stop);
    expect(g.successful()).toBe(false);
    expect(g.exception).toBe(stop);
  });

  it('a quiet Timeout of its own, wrapped: it ends successfully with undefined', async () => {
    const g = spawn(async () => {
      Timeout.startNew(20, false);
      return wrapped(1)();
    });
    await g.join();
    expect(g.successful()).toBe(true);
    expect(g.value).toBe(undefined);
  });

  it('a quiet Timeout of its own, copied by a library (code and message, as node-fetch and Prisma do): it ends successfully with undefined', async () => {
    const g = spawn(async () => {
      Timeout.startNew(20, false);
      try {
        await sleep(10_000);
      } catch (e) {
        const err = e as { code: string; message: string };
        throw Object.assign(new Error(`request failed, reason: ${err.message}`), { code: err.code });
      }
    });
    await g.join();
    expect(g.successful()).toBe(true);
    expect(g.value).toBe(undefined);
  });

  it('an error wrapping nothing of the kill is kept as the greenlet\'s error', async () => {
    const g = spawn(async () => {
      try {
        await sleep(10_000);
      } catch {
        throw new LibraryError('unrelated', null);
      }
    });
    await sleep(0);
    await g.kill();
    expect(g.exception).toBeInstanceOf(LibraryError);
  });
});

describe('real axios under the patch, against a slow server on 127.0.0.1 (own process)', () => {
  it('withTimeout gives timeoutValue or its TimeoutError (cause: the AxiosError), a kill ends the greenlet killed; the server sees each request closed early', () => {
    const { json } = runFixture('timeout-axios.ts');
    expect(json.quiet).toBe(null);
    expect(json.quietMs).toBeLessThan(2500); // the page takes 3 s
    expect(json.loud).toMatchObject({ name: 'TimeoutError', isTimeoutError: true, timeoutMs: 300, causeIsAxios: true, causeWrapsTimeout: true });
    expect((json.loud as { ms: number }).ms).toBeLessThan(2500);
    expect(json.killed).toEqual({ successful: true, valueIsExit: true, exception: '' });
    expect(json.closedEarly).toEqual(['/killed', '/loud', '/quiet']);
    expect(json.socketsLeft).toBe(0);
  });
});

describe('real got, node-fetch 3 and 2, superagent under the patch, against a slow server on 127.0.0.1 (own process)', () => {
  // got keeps greenio's error as `cause`; node-fetch copies its code and message into a
  // FetchError and drops it; superagent rejects with it as it is.
  const CAUSE = { got: 'RequestError', 'node-fetch3': 'FetchError', 'node-fetch2': 'FetchError', superagent: undefined } as const;
  let json: Record<string, unknown> | undefined;
  const out = (): Record<string, unknown> => (json ??= runFixture('http-libraries.ts').json);

  it.each(Object.keys(CAUSE) as Array<keyof typeof CAUSE>)('%s: a kill ends the greenlet killed, withTimeout gives its TimeoutError or timeoutValue, each at once', (name) => {
    const r = out()[name] as Record<string, Record<string, unknown>>;
    expect(r.killed).toMatchObject({ successful: true, valueIsExit: true });
    expect(r.killed!.exception).toBe(undefined);
    expect(r.loud).toMatchObject({ name: 'TimeoutError', isTimeoutError: true, timeoutMs: 300 });
    expect(r.loud!.cause).toBe(CAUSE[name]);
    expect(r.quiet!.value).toBe('timed out');
    for (const k of ['killed', 'loud', 'quiet']) expect(r[k]!.ms as number, k).toBeLessThan(5000); // the page takes 10 s
  });

  it('p-retry around fetch, killed or timed out mid-way: the greenlet dies on time and no request is sent afterwards', () => {
    for (const how of ['kill', 'timeout']) {
      const r = out()[`pRetry_${how}`] as Record<string, number | string>;
      expect(r.error, how).toBe(how === 'kill' ? 'GreenletExit' : 'TimeoutError');
      expect(r.ms as number, how).toBeLessThan(3000); // 50 retries would take 10 s
      expect(r.attempts as number, how).toBeGreaterThanOrEqual(1);
      expect(r.sentAfter, how).toBe(0);
    }
  });

  it('the server saw every request closed early; no socket left', () => {
    expect(out().closedEarly).toBe(Object.keys(CAUSE).length * 3); // killed, loud, quiet
    expect(out().answered).toBe(0);
    expect(out().socketsLeft).toBe(0);
  });
});
