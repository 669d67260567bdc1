import { spawnSync } from 'node:child_process';
import dns from 'node:dns';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { getOriginal, isModulePatched, patchAll, patchFs, unpatchAll } from '../../src/monkey.js';
import { slotsOf, unwrapped } from '../../src/internal/wrap.js';
import { builtinPatches, clientNames, patchOptions } from '../../patches/index.js';

// This file's process starts unpatched; every test leaves it unpatched.
afterAll(() => unpatchAll());

describe('the patch table (patches/index.ts)', () => {
  it("gives patchAll() and GREENIO_NO_PATCH the same options as ever: the built-ins', then the clients'", () => {
    expect(patchOptions).toEqual(['fs', 'net', 'dns', 'timers', 'childProcess', 'http', 'fetch', ...clientNames]);
    expect(clientNames).toEqual(['undici', 'pg', 'mysql2', 'ioredis', 'redis', 'postgres', 'p-queue', 'bottleneck']);
    expect(() => patchAll({ streams: false } as never)).toThrow(/patchAll options \(fs, net, dns, timers, childProcess, http, fetch, undici, pg, mysql2, ioredis, redis, postgres, p-queue, bottleneck, syncIO, warnLate\)/);
  });

  it('wraps no function from two patches (so the order of the table changes no behaviour)', () => {
    patchAll({ warnLate: false });
    const owner = new Map<object, Map<PropertyKey, string>>();
    const twice: string[] = [];
    for (const p of builtinPatches) {
      expect(slotsOf(p.name).length, p.name).toBeGreaterThan(0);
      for (const [obj, key] of slotsOf(p.name)) {
        let keys = owner.get(obj);
        if (keys === undefined) owner.set(obj, (keys = new Map()));
        if (keys.has(key)) twice.push(`${String(key)}: ${keys.get(key)} and ${p.name}`);
        keys.set(key, p.name);
      }
    }
    unpatchAll();
    expect(twice).toEqual([]);
  });

  it('answers isModulePatched() for every name and alias of a row, and for nothing else', () => {
    const names = builtinPatches.flatMap((p) => [p.name, ...p.aliases]);
    patchAll({ warnLate: false, net: false });
    for (const p of builtinPatches) for (const n of [p.name, ...p.aliases]) expect(isModulePatched(`node:${n}`), n).toBe(p.option !== 'net');
    expect(isModulePatched('global')).toBe(false);
    expect(isModulePatched('zlib')).toBe(false);
    unpatchAll();
    for (const n of names) expect(isModulePatched(n), n).toBe(false);
  });

  it('patchFs() applies fs and what it comes with (streams), nothing else', () => {
    expect(patchFs()).toBe(true);
    expect(isModulePatched('fs')).toBe(true);
    expect(isModulePatched('stream')).toBe(true);
    expect(isModulePatched('net')).toBe(false);
    expect(isModulePatched('timers')).toBe(false);
    expect(patchFs()).toBe(false);
    unpatchAll();
  });

  it('getOriginal() finds an original under each module it can be named by', () => {
    const readFile = fs.promises.readFile;
    const lookup = dns.promises.lookup;
    patchAll({ warnLate: false });
    expect(fs.promises.readFile).not.toBe(readFile);
    expect(getOriginal('fs/promises', 'readFile')).toBe(readFile);
    expect(getOriginal('node:fs', 'promises.readFile')).toBe(readFile);
    expect(getOriginal('dns/promises', 'lookup')).toBe(lookup);
    expect(getOriginal('dns', 'promises.lookup')).toBe(lookup);
    expect(getOriginal('fs', 'readFile')).toBe(unwrapped(fs.readFile as never));
    unpatchAll();
  });
});

describe('GREENIO_NO_PATCH (the preload entry, built package)', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const run = (skip: string) =>
    spawnSync(process.execPath, ['--import', 'greenio/patch', '--input-type=module', '-e', "import { isModulePatched as p } from 'greenio/monkey'; console.log(JSON.stringify([p('fs'), p('stream'), p('net'), p('dns'), p('pg')]))"], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, GREENIO_NO_PATCH: skip },
    });

  it('turns off the named options (net takes streams with it)', () => {
    const r = run('net, pg');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual([true, false, false, true, false]);
  });

  it('refuses an unknown name, listing the options of the table', () => {
    const r = run('streams');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('GREENIO_NO_PATCH: unknown module `streams` (known: fs, net, dns, timers, childProcess, http, fetch, undici, pg, mysql2, ioredis, redis, postgres, p-queue, bottleneck)');
  });
});
