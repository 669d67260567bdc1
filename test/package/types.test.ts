/**
 * The published types compile for users: the packed tarball in a temp project, checked by
 * `tsc` under `strict` with `skipLibCheck: false`, against @types/node 20, 22, 24 and 26
 * and TypeScript 5.9 and 7. The toolchains come from the npm registry once, into
 * node_modules/.cache/greenio-typecheck (later runs are offline). Limit: pinned versions.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { packInto, run, type Ran } from './pack.js';
import { CHECKED, toolchain, TYPESCRIPT, WHY } from './toolchain.js';

// What a user writes: every entry point, generic inference, a Transferable, options objects.
const CONSUMER = `
import { spawn, joinAll, Pool, Queue, Timeout, withTimeout, ThreadPool, Event, config, type Greenlet, type Config, type PriorityCompare, type Transferable, type PoolSurface, type Core } from 'greenio';
import { patchAll, kind, type Kind, type Implements, type AnyFunction, type OriginalFunction, type WrapperMaker, wrapMethod } from 'greenio/monkey';
import 'greenio/patch';
import { GreenWorker, type WorkerCommandOptions } from 'greenio/bullmq';

const g: Greenlet<number> = spawn(async (n: number) => n * 2, 21);
await joinAll([g]);
const doubled: number | undefined = g.value;
const q = new Queue<string>();
q.put('a');
const first: string = await q.get();
const pool = new Pool(4);
const lengths: number[] = await pool.map(async (s: string) => s.length, ['a', 'bb']);
const late: string | null = await withTimeout(10, async () => 'x', { timeoutValue: null });
const t = new Timeout(100);
t.cancel();
const buf = new ArrayBuffer(8);
const moved: ArrayBuffer = ThreadPool.transfer(buf, [buf]);
const ev = new Event();
ev.set();
// The types public declarations name can be named by the user too.
const settings: Config = config;
const byLength: PriorityCompare<string> = (a, b) => a.length - b.length;
const dbQuery: Kind = kind('my-db.query');
const wrapped: Implements = { promise: ['query'] };
const wrap = (original: AnyFunction): AnyFunction => original;
// A wrapper maker types its wrapper as it likes; the original takes any arguments.
const maker: WrapperMaker = (original: OriginalFunction) =>
  function (this: { id: number }, sql: string, cb: (e: Error | null) => void) {
    return original.call(this, sql.trim(), cb);
  };
wrapMethod('my-db', { query() {} }, 'query', maker);
const flags: Partial<WorkerCommandOptions> = { queue: 'jobs' };
const movable: Transferable[] = [buf];
const workers: PoolSurface = new ThreadPool({ size: 1 });
const base: Core = g;
const id: number = g.id;
export { doubled, first, lengths, late, moved, patchAll, GreenWorker, settings, byLength, dbQuery, wrapped, wrap, flags, movable, workers, base, id };
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2023'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: false,
    // TypeScript's own lib.*.d.ts cannot be broken by greenio's types; a third of the time.
    skipDefaultLibCheck: true,
    noEmit: true,
    types: ['node'],
  },
  files: ['index.ts'],
};

describe('published types, from the packed tarball', () => {
  const tmp = tempDir('greenio-types-');
  const results = new Map<string, Ran>();

  beforeAll(async () => {
    const tgz = await packInto(tmp.dir);
    const jobs: (() => Promise<void>)[] = [];
    for (const typesNode of CHECKED) {
      const modules = await toolchain(typesNode);
      const project = join(tmp.dir, `types-node-${typesNode}`);
      const nm = join(project, 'node_modules', 'greenio');
      mkdirSync(nm, { recursive: true });
      execFileSync('tar', ['xzf', tgz, '-C', nm, '--strip-components=1']);
      // Everything but greenio is a link into the cache; TypeScript follows links to the real path.
      for (const entry of readdirSync(modules)) {
        if (!entry.startsWith('.')) symlinkSync(join(modules, entry), join(project, 'node_modules', entry));
      }
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
      writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG));
      writeFileSync(join(project, 'index.ts'), CONSUMER);
      for (const ts of TYPESCRIPT) {
        jobs.push(async () => {
          results.set(`${typesNode}/${ts.version}`, await run(process.execPath, [join(modules, ts.dir, 'bin/tsc'), '-p', project], project));
        });
      }
    }
    // Two compilers at a time: the machine has other work.
    const lane = async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) await job();
    };
    await Promise.all([lane(), lane()]);
  }, 300_000);
  afterAll(() => tmp.cleanup());

  for (const typesNode of CHECKED) {
    for (const ts of TYPESCRIPT) {
      it(`@types/node ${typesNode}, TypeScript ${ts.version}: strict, skipLibCheck false, no errors (${WHY})`, () => {
        const r = results.get(`${typesNode}/${ts.version}`);
        expect(r, 'tsc ran').toBeDefined();
        expect(`${r!.stdout}${r!.stderr}`.trim()).toBe('');
        expect(r!.status).toBe(0);
      });
    }
  }

  it('the checked consumer fails to compile when it misuses the API (the check can fail)', async () => {
    const modules = await toolchain(CHECKED[0]!);
    const project = join(tmp.dir, `types-node-${CHECKED[0]}`);
    writeFileSync(join(project, 'bad.ts'), "import { spawn, type Greenlet } from 'greenio';\nconst g: Greenlet<string> = spawn(async () => 1);\nexport { g };\n");
    writeFileSync(join(project, 'tsconfig.bad.json'), JSON.stringify({ ...TSCONFIG, files: ['bad.ts'] }));
    // TypeScript 7 (native) keeps this fast; the matrix above runs 5.9 as well.
    const r = await run(process.execPath, [join(modules, 'typescript7/bin/tsc'), '-p', join(project, 'tsconfig.bad.json')], project);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toMatch(/bad\.ts\(2,7\): error TS2322/);
  });
});
