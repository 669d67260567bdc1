import { readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GreenletExit, TimeoutError, formatRunInfo, getCurrent, outside, sleep, spawn, withTimeout } from '../src/index.js';
import { patchAll, unpatchAll } from '../src/monkey.js';
import { tempDir } from './helpers.js';

// What a greenlet starts is its own, even a library's background work that it merely
// started first: a kill or Timeout ends it. `outside(fn)` runs fn in main instead, so what
// it starts outlives the caller, and the caller's await of it is a wait of its own.
const { dir, cleanup } = tempDir('greenio-outside-');
patchAll({ warnLate: false });
afterAll(() => {
  unpatchAll();
  cleanup();
});

/** A logger whose flusher loop starts at its first line (as many libraries' do), in whoever logs first. */
function lazyLogger(file: string): { log(line: string): void; stop(): void; errors: string[]; flushes(): number } {
  const pending: string[] = [];
  const errors: string[] = [];
  let loop: Promise<void> | null = null;
  let stopped = false;
  let flushes = 0;
  const flusher = async (): Promise<void> => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, 5));
      if (pending.length === 0) continue;
      const chunk = pending.splice(0).join('');
      try {
        await appendFile(file, chunk);
      } catch (e) {
        errors.push((e as Error).message);
      }
      flushes++;
    }
  };
  return {
    errors,
    flushes: () => flushes,
    stop: () => void (stopped = true),
    log(line) {
      pending.push(`${line}\n`);
      loop ??= flusher();
    },
  };
}

const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');

async function untilLines(file: string, n: number): Promise<string[]> {
  for (let i = 0; i < 400; i++) {
    try {
      if (lines(file).length >= n) break;
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return lines(file);
}

describe('outside(fn)', () => {
  it('a flusher started in a greenlet dies with its kill; started outside, it outlives it', async () => {
    for (const how of ['inside', 'outside'] as const) {
      const file = join(dir, `log-${how}`);
      const logger = lazyLogger(file);
      const g = spawn(async () => {
        if (how === 'outside') outside(() => logger.log('first'));
        else logger.log('first');
        await sleep(60_000);
      });
      await untilLines(file, 1);
      // The first append's promise settled, not only its bytes on disk (its file is closed
      // after the write): a kill between the two would rightly abort it, and that race is
      // not what this case is about.
      for (let i = 0; i < 400 && logger.flushes() === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(logger.flushes()).toBe(1);
      await g.kill();
      for (let i = 0; i < 20; i++) logger.log(`after ${i}`);
      if (how === 'outside') {
        expect(await untilLines(file, 21)).toHaveLength(21);
      } else {
        // The flusher's timer was the killed greenlet's and was cleared: nothing more is written.
        await new Promise((r) => setTimeout(r, 200));
        expect(lines(file)).toEqual(['first']);
      }
      expect(logger.errors).toEqual([]);
      logger.stop();
    }
  });

  it('runs fn in main with its arguments and returns its value', () => {
    const seen: unknown[] = [];
    const g = spawn(() => {
      seen.push(outside((a: number, b: string) => [getCurrent().name, a, b], 7, 'x'));
      seen.push(getCurrent().name);
    });
    return g.join().then(() => {
      expect(seen[0]).toEqual(['main', 7, 'x']);
      expect(seen[1]).toBe(g.name);
    });
  });

  it('a kill ends the caller\'s wait at once, named in run-info, and leaves the work running', async () => {
    let done = false;
    const work = async function uploadReport(): Promise<string> {
      await sleep(300);
      done = true;
      return 'sent';
    };
    const g = spawn(() => outside(work));
    await sleep(20);
    expect(formatRunInfo()).toMatch(new RegExp(`${g.name} \\[waiting[^\\n]*\\n\\s*waits on: outside uploadReport`));
    const t0 = performance.now();
    await g.kill();
    expect(performance.now() - t0).toBeLessThan(250);
    expect(g.value).toBeInstanceOf(GreenletExit);
    expect(done).toBe(false);
    for (let i = 0; i < 300 && !done; i++) await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(true);
  });

  it('withTimeout returns on time around it; the work completes after', async () => {
    let done = false;
    const t0 = performance.now();
    await expect(
      withTimeout(50, () =>
        outside(async () => {
          await new Promise((r) => setTimeout(r, 300));
          done = true;
        }),
      ),
    ).rejects.toBeInstanceOf(TimeoutError);
    expect(performance.now() - t0).toBeLessThan(250);
    expect(done).toBe(false);
    for (let i = 0; i < 300 && !done; i++) await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(true);
  });

  it('passes a resolution or rejection of fn\'s promise to the caller', async () => {
    await expect(spawn(() => outside(async () => 42)).get()).resolves.toBe(42);
    await expect(outside(() => Promise.reject(new RangeError('nope')))).rejects.toThrow(RangeError);
    expect(() => outside(() => {
      throw new SyntaxError('sync');
    })).toThrow(SyntaxError);
  });

  it('refuses a non-function, quoting it', () => {
    expect(() => outside(42 as unknown as () => void)).toThrow(TypeError);
    expect(() => outside('run' as unknown as () => void)).toThrow(/'run'|"run"/);
  });
});
