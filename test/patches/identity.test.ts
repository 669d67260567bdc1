import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import timers from 'node:timers';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { getOriginal, isModulePatched, isObjectPatched, patchAll, patchFs, unpatchAll } from '../../src/monkey.js';
import { slotsOf, unwrapped } from '../../src/internal/wrap.js';
import { allBuiltinPatches } from '../../patches/index.js';

// This file's process starts unpatched: record every function the patches will wrap.
type Row = { patch: string; obj: object; key: PropertyKey; original: Function; descriptor: PropertyDescriptor | undefined };
const shape = (f: Function) => ({
  name: f.name,
  length: f.length,
  own: Reflect.ownKeys(f).map(String).sort(),
  proto: Object.getPrototypeOf(f),
});

patchAll({ warnLate: false });
// FileHandle methods are patched on the first open.
await (await fsp.open(new URL(import.meta.url))).close();
const rows: Row[] = [];
for (const p of allBuiltinPatches) {
  for (const [obj, key] of slotsOf(p.name)) {
    const wrapper = (obj as Record<PropertyKey, Function>)[key]!;
    rows.push({ patch: p.name, obj, key, original: unwrapped(wrapper as never), descriptor: undefined });
  }
}

afterAll(() => unpatchAll());

describe('patched functions keep the originals’ shape', () => {
  it('every patch wraps something', () => {
    for (const p of allBuiltinPatches) expect(slotsOf(p.name).length, p.name).toBeGreaterThan(0);
    expect(rows.length).toBeGreaterThan(150);
  });

  it.each(rows.map((r) => [`${r.patch}: ${String(r.key)}`, r] as const))('%s: same name, length, own properties and prototype', (_label, r) => {
    const wrapper = (r.obj as Record<PropertyKey, Function>)[r.key]!;
    expect(wrapper).not.toBe(r.original);
    expect(isObjectPatched(r.obj, r.key)).toBe(true);
    expect(shape(wrapper)).toEqual(shape(r.original));
  });

  it('keeps util.promisify.custom and realpath.native', () => {
    expect(promisify(setTimeout)).toBe((globalThis.setTimeout as unknown as Record<symbol, unknown>)[promisify.custom]);
    expect(typeof fs.realpath.native).toBe('function');
    expect(isObjectPatched(fs.realpath, 'native')).toBe(true);
  });

  it('getOriginal gives the unpatched functions', () => {
    expect(getOriginal('fs', 'readFile')).toBe(unwrapped(fs.readFile as never));
    expect(getOriginal('node:fs/promises', 'readFile')).toBe(unwrapped(fsp.readFile as never));
    expect(getOriginal('global', 'setTimeout')).toBe(unwrapped(globalThis.setTimeout as never));
    expect(getOriginal('net', 'Socket.prototype.connect')).toBe(unwrapped(net.Socket.prototype.connect as never));
    expect(() => getOriginal('fs', 'nope')).toThrow(TypeError);
  });

  it('patchAll is idempotent', () => {
    const before = fs.readFile;
    const report = patchAll({ warnLate: false });
    expect(report.patched).toEqual([]);
    expect(report.alreadyPatched).toContain('fs');
    expect(fs.readFile).toBe(before);
    expect(patchFs()).toBe(false);
  });

  it('rejects unknown or bad options', () => {
    expect(() => patchAll({ nope: true } as never)).toThrow(TypeError);
    expect(() => patchAll({ fs: 'yes' } as never)).toThrow(TypeError);
    expect(() => patchAll({ syncIO: 'loud' } as never)).toThrow(TypeError);
    expect(() => isModulePatched(3 as never)).toThrow(TypeError);
  });
});

describe('unpatchAll()', () => {
  it('restores the exact original functions (identity), and patchAll() applies again', () => {
    unpatchAll();
    for (const r of rows) expect((r.obj as Record<PropertyKey, Function>)[r.key], `${r.patch}: ${String(r.key)}`).toBe(r.original);
    expect(isModulePatched('fs')).toBe(false);
    expect(isModulePatched('node:child_process')).toBe(false);
    expect(timers.setTimeout).toBe(rows.find((r) => r.obj === timers && r.key === 'setTimeout')!.original);
    patchAll({ warnLate: false });
    expect(isModulePatched('fs')).toBe(true);
    expect(isModulePatched('fetch')).toBe(true);
    unpatchAll();
    expect(fs.readFile).toBe(rows.find((r) => r.obj === fs && r.key === 'readFile')!.original);
  });
});
