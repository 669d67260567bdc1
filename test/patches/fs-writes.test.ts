import fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sleep, spawn, withTimeout } from '../../src/index.js';
import { patchAll, unpatchAll } from '../../src/monkey.js';
import { tempDir } from '../helpers.js';

// A write to an fd by callback runs to its end whoever asked: a kill or a timeout of the
// greenlet that started it never hands its callback the interrupt's error in place of the
// result (the bytes are written anyway, and the fd is often a logger's, shared). Before,
// pino's destination (sonic-boom) reported `greenlet killed` and lost the lines in flight.
const { dir, cleanup } = tempDir('greenio-fs-writes-');
patchAll({ warnLate: false });
afterAll(() => {
  unpatchAll();
  cleanup();
});

/** Spawn `body`, interrupt it (`how`) at its first wait, and wait for its end. */
async function interrupt(how: 'kill' | 'timeout', body: () => Promise<void>): Promise<void> {
  const g = spawn(how === 'kill' ? body : () => withTimeout(1, body));
  if (how === 'kill') {
    await sleep(0);
    g.kill(undefined, { block: false });
  }
  await g.join();
}

describe.each(['kill', 'timeout'] as const)('writes in flight when their greenlet is interrupted (%s)', (how) => {
  it('fs.write on an fd opened in main: the callback gets the bytes written, the file holds them', async () => {
    const f = join(dir, `raw-${how}`);
    const fd = fs.openSync(f, 'w');
    const data = Buffer.alloc(8 << 20, 0x64);
    const got: unknown[] = [];
    await interrupt(how, async () => {
      fs.write(fd, data, (err, n) => got.push(err === null ? n : (err as Error).name));
      await sleep(60_000);
    });
    await new Promise((r) => setTimeout(r, 200));
    fs.closeSync(fd);
    expect(got).toEqual([data.length]);
    expect(fs.statSync(f).size).toBe(data.length);
  });

  it('pino to an asynchronous destination made in main: every line logged is in the file, no error', async () => {
    const { default: pino } = await import('pino');
    const f = join(dir, `pino-${how}`);
    const dest = pino.destination({ dest: f, sync: false });
    const errors: string[] = [];
    dest.on('error', (e: Error) => errors.push(e.message));
    await new Promise<void>((r) => dest.once('ready', () => r()));
    const log = pino(dest);
    const big = 'z'.repeat(200_000);
    await interrupt(how, async () => {
      for (let i = 0; i < 20; i++) log.info({ i, big });
      await sleep(60_000);
    });
    await withTimeout(10_000, () => new Promise<void>((r) => dest.flush(() => r())));
    dest.end();
    await withTimeout(10_000, () => new Promise((r) => dest.once('close', r)));
    const lines = fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { i: number }).i);
    expect(errors).toEqual([]);
    expect(lines).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
