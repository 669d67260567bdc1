/**
 * The published types compile for users: the packed tarball in a temp project, checked by
 * `tsc` under `strict` with `skipLibCheck: false`, against @types/node 20, 22, 24 and 26
 * and TypeScript 5.9 and 7. The toolchains come from the npm registry once, into
 * node_modules/.cache/greenio-typecheck (later runs are offline). Limit: pinned versions.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { npm, packInto, registryHint, root, run, type Ran } from './pack.js';

// The newest release of each @types/node major, and of TypeScript 5.9 and the newest major.
const TYPES_NODE = ['20.19.43', '22.20.7', '24.19.4', '26.6.11'];
const TYPESCRIPT = [
  { version: '5.9.3', dir: 'typescript' },
  { version: '7.0.2', dir: 'typescript7' },
];
// greenio/bullmq's types import bullmq (an optional peer): the version the suite tests.
const BULLMQ = (JSON.parse(readFileSync(join(root, 'node_modules/bullmq/package.json'), 'utf8')) as { version: string }).version;
const CACHE = join(root, 'node_modules/.cache/greenio-typecheck');

// tsc's verdict does not depend on the Node running it, and each @types/node takes ~10 s
// of CPU to check: the primary Node (the `node` devDependency's major) checks the whole
// matrix, the other Nodes the @types/node of their own major (with both TypeScripts).
const major = (v: string) => Number(v.replace(/^[^\d]*/, '').split('.')[0]);
const PRIMARY = process.versions.node.split('.')[0] === String(major(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies.node));
const MINE = TYPES_NODE.filter((v) => major(v) <= major(process.versions.node)).pop() ?? TYPES_NODE[0]!;
const CHECKED = PRIMARY ? TYPES_NODE : [MINE];
const WHY = PRIMARY ? 'primary Node: whole matrix' : `Node ${major(process.versions.node)}: its own @types/node; the primary Node checks the others`;

/** node_modules with one @types/node, both TypeScripts and bullmq, installed once. */
async function toolchain(typesNode: string): Promise<string> {
  const dir = join(CACHE, `types-node-${typesNode}-ts-${TYPESCRIPT.map((t) => t.version).join('-')}-bullmq-${BULLMQ}`);
  if (existsSync(join(dir, 'node_modules/.complete'))) return join(dir, 'node_modules');
  // Installed beside, then renamed into place: a run cut short leaves no half cache.
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const dependencies: Record<string, string> = { '@types/node': typesNode, bullmq: BULLMQ };
  for (const t of TYPESCRIPT) dependencies[t.dir] = t.dir === 'typescript' ? t.version : `npm:typescript@${t.version}`;
  writeFileSync(join(tmp, 'package.json'), JSON.stringify({ name: 'greenio-typecheck', private: true, dependencies }));
  const r = await npm(['install', '--ignore-scripts', '--prefer-offline'], tmp);
  if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`installing ${Object.entries(dependencies).map(([k, v]) => `${k}@${v}`).join(' ')} failed. ${registryHint(r)}\n${r.stderr.slice(-2000)}`);
  }
  writeFileSync(join(tmp, 'node_modules/.complete'), '');
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another run put it there first
  }
  return join(dir, 'node_modules');
}

// What a user writes: every entry point, generic inference, a Transferable, options objects.
const CONSUMER = `
import { spawn, joinAll, Pool, Queue, Timeout, withTimeout, ThreadPool, Event, type Greenlet } from 'greenio';
import { patchAll } from 'greenio/monkey';
import 'greenio/patch';
import { GreenWorker } from 'greenio/bullmq';

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
export { doubled, first, lengths, late, moved, patchAll, GreenWorker };
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
