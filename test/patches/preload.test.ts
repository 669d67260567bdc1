import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// These run the built package (dist/, made by `npm test` before the suite) in fresh
// processes, as a user would: `node --import greenio/patch app`.
const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/preload/${name}`, import.meta.url));
function run(args: string[]) {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 30_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '{}';
  return { status: r.status, stderr: r.stderr, json: JSON.parse(line) as Record<string, unknown> };
}

describe('node --import greenio/patch', () => {
  const r = run(['--import', 'greenio/patch', fixture('styles.mjs')]);
  const expectations: Record<string, string> = {
    "import { readFile } from 'node:fs'": 'fs.readFile',
    "import fs from 'fs'": 'fs.stat',
    "import * as fs from 'node:fs'": 'fs.access',
    "import * as fsp from 'node:fs/promises'": 'fs.stat',
    "import { readFile } from 'node:fs/promises'": 'fs.readFile',
    "const { readFile } = require('fs') after the patch": 'fs.readFile',
    "require('fs').promises": 'fs.readdir',
    "import { setTimeout } from 'node:timers/promises'": 'sleep',
    "import { setTimeout } from 'node:timers'": 'timer',
    'global setTimeout': 'timer',
    "import { lookup } from 'node:dns/promises'": 'dns.lookup',
    'global fetch': 'fetch',
    'http.get': 'http.request',
  };
  it('runs the application', () => {
    expect(r.status, r.stderr).toBe(0);
  });
  it.each(Object.entries(expectations))('%s is attributed to the calling greenlet (%s)', (style, kind) => {
    expect(r.json[style]).toContain(kind);
  });
  it('does not warn about a late patch', () => {
    expect(r.stderr).not.toMatch(/GREENIO_LATE_PATCH/);
  });
});

describe('the late-patch warning', () => {
  it('fires when modules were loaded before a programmatic patchAll(), naming them, once', () => {
    const r = run([fixture('late-app.cjs')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.lateModules).toEqual(['test/fixtures/preload/late-helper.cjs']);
    expect(r.stderr.match(/GREENIO_LATE_PATCH/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/late-helper\.cjs/);
    // What the warning is about: the reference taken before the patch is not attributed.
    expect(r.json).toMatchObject({ capturedAttributed: false, lookedUpAttributed: true });
  });

  it('does not fire when patchAll() runs first thing', () => {
    const r = run([fixture('early-app.mjs')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.lateModules).toEqual([]);
    expect(r.stderr).not.toMatch(/GREENIO_LATE_PATCH/);
  });

  it('does not fire for a late patchAll() when the preload already patched everything', () => {
    const r = run(['--import', 'greenio/patch', fixture('late-app.cjs')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/GREENIO_LATE_PATCH/);
    expect(r.json).toMatchObject({ capturedAttributed: true, lookedUpAttributed: true });
  });
});

describe('loading the application', () => {
  it('is not counted as the application’s IO (Node 20 reads ES modules with fs.promises.readFile)', () => {
    const r = run(['--import', 'greenio/patch', '--input-type=module', '-e', "import { stats } from 'greenio'; console.log(JSON.stringify(stats().io))"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json['fs.readFile']).toBeUndefined();
  });
});
