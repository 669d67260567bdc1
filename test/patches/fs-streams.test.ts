import fs from 'node:fs';
import { readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatRunInfo, sleep, spawn, withTimeout, type Greenlet } from '../../src/index.js';
import { patchAll, unpatchAll } from '../../src/monkey.js';
import { tempDir } from '../helpers.js';

// A file stream's own IO (each chunk read or written) is the stream's, not the greenlet's
// that last wrote or read: a kill never aborts a write a greenlet queued on a stream made
// elsewhere (the data would be lost, the stream errored) nor a read a shared stream has
// in flight. A stream is a handle of the greenlet that made it, as a socket is: its kill
// destroys it and closes its fd. Each interrupt comes while the greenlet's first chunk is
// in flight (started by its own write, on an idle stream).
const { dir, cleanup } = tempDir('greenio-fs-streams-');
patchAll({ warnLate: false });
afterAll(() => {
  unpatchAll();
  cleanup();
});

const MiB = 1 << 20;
const CHUNKS = 40;
const chunk = Buffer.alloc(MiB, 0x61);
const fds = (): number => readdirSync('/proc/self/fd').length;

/** Interrupt a greenlet running `body` as `how` says, at its first wait; its end. */
async function interrupted(how: 'kill' | 'timeout', body: () => Promise<void>): Promise<{ g: Greenlet; error: string | undefined }> {
  const g = spawn(how === 'kill' ? body : () => withTimeout(1, body));
  if (how === 'kill') {
    await sleep(0);
    g.kill(undefined, { block: false });
  }
  await g.join();
  const e = (how === 'kill' ? g.value : g.exception) as Error | undefined;
  return { g, error: e?.name };
}

/** A write stream's end: resolves when it finished, or with the error it emitted. */
function ended(ws: fs.WriteStream): Promise<string> {
  return new Promise((resolve) => {
    ws.once('error', (e) => resolve(`error: ${e.message}`));
    ws.end(() => resolve('finished'));
  });
}

describe.each(['kill', 'timeout'] as const)('file streams made in main, a greenlet interrupted (%s)', (how) => {
  /** A greenlet writes CHUNKS chunks on `ws` (made in main) and is interrupted: all reach the file. */
  async function writtenWhole(f: string, ws: fs.WriteStream): Promise<void> {
    const { error } = await interrupted(how, async () => {
      for (let i = 0; i < CHUNKS; i++) ws.write(chunk);
      await sleep(60_000);
    });
    expect(error).toBe(how === 'kill' ? 'GreenletExit' : 'TimeoutError');
    expect(await ended(ws)).toBe('finished');
    expect(fs.statSync(f).size).toBe(CHUNKS * MiB);
  }

  it(`a WriteStream: every chunk the greenlet wrote is in the file, the stream finishes without error`, async () => {
    const f = join(dir, `w-${how}`);
    const ws = fs.createWriteStream(f);
    await new Promise<void>((r) => ws.once('ready', () => r())); // idle: the greenlet's write starts the IO
    await writtenWhole(f, ws);
  });

  it('a FileHandle write stream: the same', async () => {
    const f = join(dir, `h-${how}`);
    await writtenWhole(f, (await open(f, 'w')).createWriteStream());
  });

  it('a ReadStream read through one iterator: main reads on where the greenlet stopped, every byte once, no error', async () => {
    const f = join(dir, `r-${how}`);
    fs.writeFileSync(f, Buffer.alloc(CHUNKS * MiB, 0x62));
    const rs = fs.createReadStream(f, { highWaterMark: MiB });
    const errors: string[] = [];
    rs.on('error', (e) => errors.push(e.message));
    await new Promise<void>((r) => rs.once('ready', () => r()));
    const it = rs[Symbol.asyncIterator]();
    let total = 0;
    const { error } = await interrupted(how, async () => {
      for (;;) {
        const r = await it.next();
        if (r.done === true) return;
        total += (r.value as Buffer).length;
      }
    });
    expect(error).toBe(how === 'kill' ? 'GreenletExit' : 'TimeoutError');
    // Bounded: a stream broken by the interrupt would leave this read waiting for good.
    await withTimeout(10_000, async () => {
      for (;;) {
        const r = await it.next();
        if (r.done === true) break;
        total += (r.value as Buffer).length;
      }
    });
    expect(errors).toEqual([]);
    expect(total).toBe(CHUNKS * MiB);
  });
});

describe('file streams a greenlet made: its handles', () => {
  it('run-info lists the stream as the greenlet\'s (fs.stream <path>); a kill mid-read destroys it and closes its fd', async () => {
    const f = join(dir, 'own-read');
    fs.writeFileSync(f, Buffer.alloc(CHUNKS * MiB, 0x63));
    const before = fds();
    let stream: fs.ReadStream | undefined;
    let read = 0;
    const g = spawn(async () => {
      stream = fs.createReadStream(f, { highWaterMark: 64 * 1024 });
      for await (const c of stream) {
        read += (c as Buffer).length;
        await sleep(5);
      }
    });
    await sleep(50);
    const info = formatRunInfo({ stacks: false });
    expect(info).toContain(`fs.stream ${f}`);
    await g.kill();
    await new Promise((r) => setTimeout(r, 100));
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(CHUNKS * MiB);
    expect(stream!.destroyed).toBe(true);
    expect(fds()).toBe(before);
    expect(formatRunInfo({ stacks: false })).not.toContain(`fs.stream ${f}`);
  });

  it('a greenlet that ends normally leaves its finished write stream closed, its data whole', async () => {
    const f = join(dir, 'own-write');
    const before = fds();
    await spawn(async () => {
      const ws = fs.createWriteStream(f);
      for (let i = 0; i < 4; i++) ws.write(chunk);
      await new Promise<void>((r) => ws.end(r));
    }).get();
    await new Promise((r) => setTimeout(r, 50));
    expect(fs.statSync(f).size).toBe(4 * MiB);
    expect(fds()).toBe(before);
  });
});
