import dc from 'node:diagnostics_channel';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { config, getCurrent, spawn } from '../../src/index.js';
import { patchAll, unpatchAll } from '../../src/monkey.js';
import { tempDir } from '../helpers.js';

// Table-driven: every row runs unpatched first, then patched inside a greenlet; the
// outcome (value or error) must be the same, and the IO attributed to that greenlet.
const { dir, cleanup } = tempDir('greenio-fs-table-');
afterAll(cleanup);

function reset(): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(join(dir, 'sub'), { recursive: true });
  fs.writeFileSync(join(dir, 'a.txt'), 'hello');
  fs.writeFileSync(join(dir, 'b.txt'), 'world!');
  fs.symlinkSync(join(dir, 'a.txt'), join(dir, 'link'));
}
const p = (n: string) => join(dir, n);

type Outcome = { ok: true; value: unknown } | { ok: false; error: { name: string; code: unknown; message: string } };
function summarize(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return `buffer:${v.toString()}`;
  if (v instanceof fs.Stats) return { size: v.size, file: v.isFile(), dir: v.isDirectory() };
  if (Array.isArray(v)) return v.map((x) => (x instanceof fs.Dirent ? x.name : summarize(x))).sort();
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string' && v.startsWith(join(dir, 'tmp-'))) return 'tmpdir';
  if (v !== null && typeof v === 'object' && 'fd' in v) return 'handle';
  if (v !== null && typeof v === 'object' && 'path' in v && 'closeSync' in v) return 'dir';
  if (v !== null && typeof v === 'object' && 'bytesRead' in v) return { bytesRead: (v as { bytesRead: number }).bytesRead };
  return v;
}
async function outcome(run: () => unknown): Promise<Outcome> {
  try {
    const v = await run();
    if (v !== null && typeof v === 'object' && 'close' in v && typeof (v as { close: unknown }).close === 'function') await (v as { close(): Promise<void> }).close();
    if (v !== null && typeof v === 'object' && 'closeSync' in v) (v as fs.Dir).closeSync();
    return { ok: true, value: summarize(v) };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { ok: false, error: { name: err.name, code: err.code, message: err.message } };
  }
}
const cb = (f: (done: (e: unknown, v?: unknown) => void) => void) => () =>
  new Promise((res, rej) => f((e, v) => (e ? rej(e) : res(v))));

interface Row {
  label: string;
  kind?: string; // the fs op kind expected on greenio:io:start
  run: () => unknown;
}
const rows: Row[] = [
  { label: 'readFile utf8', kind: 'fs.readFile', run: cb((d) => fs.readFile(p('a.txt'), 'utf8', d)) },
  { label: 'readFile buffer', kind: 'fs.readFile', run: cb((d) => fs.readFile(p('a.txt'), d)) },
  { label: 'readFile { encoding }', kind: 'fs.readFile', run: cb((d) => fs.readFile(p('a.txt'), { encoding: 'utf8' }, d)) },
  { label: 'readFile ENOENT', kind: 'fs.readFile', run: cb((d) => fs.readFile(p('nope'), d)) },
  { label: 'readFile of a directory (EISDIR)', kind: 'fs.readFile', run: cb((d) => fs.readFile(p('sub'), d)) },
  { label: 'writeFile then read', kind: 'fs.writeFile', run: cb((d) => fs.writeFile(p('c.txt'), 'data', (e) => (e ? d(e) : fs.readFile(p('c.txt'), 'utf8', d)))) },
  { label: 'appendFile', kind: 'fs.appendFile', run: cb((d) => fs.appendFile(p('a.txt'), '!', (e) => (e ? d(e) : fs.readFile(p('a.txt'), 'utf8', d)))) },
  { label: 'stat', kind: 'fs.stat', run: cb((d) => fs.stat(p('b.txt'), d)) },
  { label: 'stat ENOENT', kind: 'fs.stat', run: cb((d) => fs.stat(p('nope'), d)) },
  { label: 'lstat of a symlink', kind: 'fs.lstat', run: cb((d) => fs.lstat(p('link'), (e, s) => d(e, s?.isSymbolicLink()))) },
  { label: 'access ENOENT', kind: 'fs.access', run: cb((d) => fs.access(p('nope'), d)) },
  { label: 'readdir', kind: 'fs.readdir', run: cb((d) => fs.readdir(dir, d)) },
  { label: 'readdir withFileTypes', kind: 'fs.readdir', run: cb((d) => fs.readdir(dir, { withFileTypes: true }, d)) },
  { label: 'mkdir recursive', kind: 'fs.mkdir', run: cb((d) => fs.mkdir(p('x/y/z'), { recursive: true }, d)) },
  { label: 'mkdir EEXIST', kind: 'fs.mkdir', run: cb((d) => fs.mkdir(p('sub'), d)) },
  { label: 'mkdtemp', kind: 'fs.mkdtemp', run: cb((d) => fs.mkdtemp(p('tmp-'), d)) },
  { label: 'open + read + close', kind: 'fs.open', run: cb((d) => fs.open(p('b.txt'), 'r', (e, fd) => {
    if (e) return d(e);
    const buf = Buffer.alloc(6);
    fs.read(fd, buf, 0, 6, 0, (e2, n) => fs.close(fd, () => d(e2, `${n}:${buf.toString()}`)));
  })) },
  { label: 'open with a bad flag', kind: 'fs.open', run: cb((d) => fs.open(p('a.txt'), 'bogus' as 'r', d)) },
  { label: 'readlink', kind: 'fs.readlink', run: cb((d) => fs.readlink(p('link'), d)) },
  { label: 'realpath', kind: 'fs.realpath', run: cb((d) => fs.realpath(p('link'), d)) },
  { label: 'realpath.native', kind: 'fs.realpath', run: cb((d) => fs.realpath.native(p('link'), d)) },
  { label: 'rename', kind: 'fs.rename', run: cb((d) => fs.rename(p('b.txt'), p('d.txt'), (e) => d(e, fs.existsSync(p('d.txt'))))) },
  { label: 'copyFile', kind: 'fs.copyFile', run: cb((d) => fs.copyFile(p('a.txt'), p('e.txt'), (e) => d(e, fs.readFileSync(p('e.txt'), 'utf8')))) },
  { label: 'truncate', kind: 'fs.truncate', run: cb((d) => fs.truncate(p('a.txt'), 2, (e) => d(e, fs.readFileSync(p('a.txt'), 'utf8')))) },
  { label: 'unlink ENOENT', kind: 'fs.unlink', run: cb((d) => fs.unlink(p('nope'), d)) },
  { label: 'rm recursive', kind: 'fs.rm', run: cb((d) => fs.rm(p('sub'), { recursive: true }, (e) => d(e, fs.existsSync(p('sub'))))) },
  { label: 'utimes', kind: 'fs.utimes', run: cb((d) => fs.utimes(p('a.txt'), 1000, 2000, (e) => d(e, fs.statSync(p('a.txt')).mtimeMs))) },
  { label: 'promises.readFile', kind: 'fs.readFile', run: () => fsp.readFile(p('a.txt'), 'utf8') },
  { label: 'promises.readFile ENOENT', kind: 'fs.readFile', run: () => fsp.readFile(p('nope')) },
  { label: 'promises.writeFile', kind: 'fs.writeFile', run: async () => (await fsp.writeFile(p('f.txt'), 'x'), fs.readFileSync(p('f.txt'), 'utf8')) },
  { label: 'promises.stat', kind: 'fs.stat', run: () => fsp.stat(p('a.txt')) },
  { label: 'promises.readdir', kind: 'fs.readdir', run: () => fsp.readdir(dir) },
  { label: 'promises.mkdir EEXIST', kind: 'fs.mkdir', run: () => fsp.mkdir(p('sub')) },
  { label: 'promises.rm ENOENT', kind: 'fs.rm', run: () => fsp.rm(p('nope')) },
  { label: 'promises.open + FileHandle methods', kind: 'fs.open', run: async () => {
    const fh = await fsp.open(p('a.txt'), 'r+');
    try {
      const st = await fh.stat();
      const { bytesRead } = await fh.read(Buffer.alloc(5), 0, 5, 0);
      await fh.write('J', 0);
      return [st.size, bytesRead, await fh.readFile('utf8')];
    } finally {
      await fh.close();
    }
  } },
  { label: 'promises.opendir', kind: 'fs.opendir', run: () => fsp.opendir(dir) },
  { label: 'readFileSync', run: () => fs.readFileSync(p('a.txt'), 'utf8') },
  { label: 'statSync ENOENT', run: () => fs.statSync(p('nope')) },
  { label: 'existsSync', run: () => [fs.existsSync(p('a.txt')), fs.existsSync(p('nope'))] },
  { label: 'readdirSync', run: () => fs.readdirSync(dir) },
  // Bad arguments: the patched function throws exactly what the original throws.
  { label: 'readFile(123n) throws synchronously', run: () => fs.readFile(123n as never, () => {}) },
  { label: 'stat(null) throws synchronously', run: () => fs.stat(null as never, () => {}) },
  { label: 'readFile without a callback throws', run: () => (fs.readFile as unknown as (p: string) => void)(p('a.txt')) },
  { label: 'open with a bad mode throws', run: () => fs.open(p('a.txt'), 'r', 'xyz' as never, () => {}) },
  { label: 'promises.readFile(null) rejects', run: () => fsp.readFile(null as never) },
  { label: 'promises.stat({}) rejects', run: () => fsp.stat({} as never) },
  { label: 'readFileSync(undefined) throws', run: () => fs.readFileSync(undefined as never) },
];

const baseline = new Map<Row, Outcome>();
for (const r of rows) {
  reset();
  baseline.set(r, await outcome(r.run));
}

const starts: Array<{ greenlet: unknown; kind: string }> = [];
dc.subscribe('greenio:io:start', (m) => starts.push(m as { greenlet: unknown; kind: string }));
config.syncIO = 'allow';
patchAll({ warnLate: false });
afterAll(() => unpatchAll());

describe('patched fs: same results, same errors, attributed to the greenlet', () => {
  it.each(rows.map((r) => [r.label, r] as const))('%s', async (_label, r) => {
    reset();
    starts.length = 0;
    const g = spawn(() => outcome(r.run));
    const got = await g.get();
    expect(got).toEqual(baseline.get(r));
    if (r.kind !== undefined) {
      const mine = starts.filter((s) => s.kind === r.kind);
      expect(mine.length, `${r.kind} io:start events`).toBeGreaterThan(0);
      expect(mine.every((s) => s.greenlet === g)).toBe(true);
    }
  });

  it('outside any greenlet, IO is attributed to the main greenlet', async () => {
    starts.length = 0;
    await fsp.stat(dir);
    expect(starts.find((s) => s.kind === 'fs.stat')?.greenlet).toBe(getCurrent());
  });
});
