import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The preload loads only what it patches: `node --import greenio/patch` (the built
// package, as preload.test.ts) may load no builtin and no CommonJS module that plain Node
// does not load for the modules greenio patches and the hook it applies client patches
// with. Reading `Response` at start-up, for one, would load undici and worker_threads.
const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'greenio-preload-modules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LIST = "const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)); console.log(JSON.stringify({ builtins, cache: Object.keys(require.cache) }));";
// What greenio patches, and what its patching machinery itself needs.
const PATCHED = ['fs', 'fs/promises', 'net', 'http', 'https', 'dns', 'dns/promises', 'timers', 'timers/promises', 'child_process', 'stream', 'stream/promises', 'events'];
const MACHINERY = ['diagnostics_channel', 'perf_hooks', 'async_hooks', 'module', 'path', 'url', 'util'];
const ritm = createRequire(join(root, 'package.json')).resolve('require-in-the-middle');
const noop = join(dir, 'noop.mjs');
// The patched modules imported as ES modules (their export facades synced by the patch),
// from an ES module that reads import.meta, as the preload does.
writeFileSync(noop, `${PATCHED.map((m) => `import 'node:${m}';`).join('\n')}\nvoid import.meta.url;\n`);

function loaded(args: string[], prelude = ''): { builtins: string[]; cache: string[] } {
  const r = spawnSync(process.execPath, [...args, '-e', `${prelude}${LIST}`], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { builtins: string[]; cache: string[] };
}

describe('node --import greenio/patch', () => {
  const plain = loaded([]);
  const allowed = loaded(['--import', noop], `${MACHINERY.map((m) => `require('node:${m}');`).join('')}require(${JSON.stringify(ritm)});require('node:module').syncBuiltinESMExports();new (require('node:async_hooks').AsyncLocalStorage)().run(1, () => {});`);
  const preloaded = loaded(['--import', 'greenio/patch']);
  const added = (list: 'builtins' | 'cache') => preloaded[list].filter((m) => !plain[list].includes(m));

  it('loads neither undici nor worker_threads (nor http2, zlib) in the main thread', () => {
    expect(added('builtins')).toEqual(expect.arrayContaining(['net', 'http'])); // it did patch
    for (const m of ['internal/deps/undici/undici', 'worker_threads', 'internal/worker', 'http2', 'zlib']) expect(added('builtins')).not.toContain(m);
  });

  it('adds no builtin beyond those the patched modules and its hook load', () => {
    expect(added('builtins').filter((m) => !allowed.builtins.includes(m))).toEqual([]);
  });

  it('adds no CommonJS module but require-in-the-middle and its dependencies', () => {
    expect(added('cache').filter((m) => !allowed.cache.includes(m))).toEqual([]);
  });
});
