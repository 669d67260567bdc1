/**
 * Internal types never appear in the public .d.ts: from every `exports` entry of the built
 * dist, each type a public declaration names must be one a user can name (exported by an
 * entry), come from a package the user has, and, for Node's, exist in every supported
 * @types/node. Needs dist built (npm test builds first). Limit: the .d.ts text as emitted.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { root } from './pack.js';
import { describeLeak, missingNodeNames, readSurface } from './public-types.js';
import { CHECKED, toolchain } from './toolchain.js';

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types?: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
const entries: Record<string, string> = {};
for (const [key, target] of Object.entries(pkg.exports)) {
  if (typeof target === 'object' && target.types) entries[key === '.' ? 'greenio' : `greenio/${key.slice(2)}`] = join(root, target.types);
}
// What a user has beside greenio: its dependencies, its peers (bullmq) and Node's types.
const userPackages = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), '@types/node'];

describe('the public .d.ts, walked from every entry of package.json exports', () => {
  const surface = readSurface(root, entries, userPackages);

  it('walks every entry (greenio, monkey, patch, bullmq) and what their exports name', () => {
    expect(Object.keys(entries)).toEqual(expect.arrayContaining(['greenio', 'greenio/monkey', 'greenio/patch', 'greenio/bullmq']));
    expect(surface.walked).toBeGreaterThan(100);
  });

  it('names only types a user can name: exported by an entry (nothing of internal/, hub/ or pool internals otherwise)', () => {
    const leaks = surface.leaks.filter((l) => l.why !== 'from a package that is not a dependency').map(describeLeak);
    expect([...new Set(leaks)]).toEqual([]);
  });

  it('writes no `any`: every public declaration is typed (unknown, never or a real type)', () => {
    expect([...new Set(surface.anys)]).toEqual([]);
  });

  it('names no type from a package a user may not have (only dependencies, peers and @types/node)', () => {
    const leaks = surface.leaks.filter((l) => l.why === 'from a package that is not a dependency').map(describeLeak);
    expect(leaks).toEqual([]);
  });

  it('every .d.ts the entries load compiles (a stripped declaration named by another file fails here)', () => {
    expect(surface.errors).toEqual([]);
  });

  it('carries no @internal declaration in the .d.ts files the entries load (stripInternal)', () => {
    expect(surface.files.length).toBeGreaterThan(20);
    const marked = surface.files.filter((f) => readFileSync(f, 'utf8').includes('@internal'));
    expect(marked).toEqual([]);
  });

  for (const typesNode of CHECKED) {
    it(`every Node type it names exists in @types/node ${typesNode}`, async () => {
      expect(surface.nodeNames.length).toBeGreaterThan(0);
      expect(missingNodeNames(surface.nodeNames, await toolchain(typesNode))).toEqual([]);
    }, 120_000);
  }
});

describe('the walk finds what it looks for (a made-up package)', () => {
  const tmp = tempDir('greenio-public-types-');
  afterAll(() => tmp.cleanup());
  const write = (rel: string, text: string) => {
    mkdirSync(dirname(join(tmp.dir, rel)), { recursive: true });
    writeFileSync(join(tmp.dir, rel), text);
  };

  it('reports a type no entry exports, one it reaches through it, an import stripped away, a package the user lacks and an `any`', () => {
    write('dist/internal/hidden.d.ts', 'export interface Hidden { a: Deep }\ninterface Deep { n: number }\nexport interface Shown { s: string }\n');
    write('dist/internal/gone.d.ts', 'export {};\n');
    write('node_modules/devonly/package.json', JSON.stringify({ name: 'devonly', types: 'index.d.ts' }));
    write('node_modules/devonly/index.d.ts', 'export interface Dev { d: 1 }\n');
    write('node_modules/dep/package.json', JSON.stringify({ name: 'dep', types: 'index.d.ts' }));
    write('node_modules/dep/index.d.ts', 'export interface Ok { o: 1 }\n');
    write(
      'dist/index.d.ts',
      [
        "import type { Hidden } from './internal/hidden.js';",
        "import { Gone } from './internal/gone.js';",
        "import type { Dev } from 'devonly';",
        "import type { Ok } from 'dep';",
        "export type { Shown } from './internal/hidden.js';",
        'export declare function f<T>(x: T): Hidden;',
        'export declare class C extends Gone {}',
        'export declare function g(x: Dev, y: Ok): void;',
        "export declare function h(): import('./internal/hidden.js').Shown;",
        'export type Loose = (this: any, ...args: any[]) => unknown;',
        '',
      ].join('\n'),
    );
    const s = readSurface(tmp.dir, { fake: join(tmp.dir, 'dist/index.d.ts') }, ['dep'], { types: [] });
    expect(s.leaks.map(describeLeak).sort()).toEqual([
      'fake:C: names `Gone` (dist/index.d.ts): unresolved',
      'fake:f > Hidden: names `Deep` (dist/internal/hidden.d.ts): not exported by any entry',
      'fake:f: names `Hidden` (dist/internal/hidden.d.ts): not exported by any entry',
      'fake:g: names `Dev` (devonly (index.d.ts)): from a package that is not a dependency',
    ]);
    expect(s.errors).toEqual([expect.stringMatching(/^dist\/index\.d\.ts:2: .*Gone/)]);
    expect(s.anys).toEqual(['fake:Loose (dist/index.d.ts:10)', 'fake:Loose (dist/index.d.ts:10)']);
  });

  it('reports a Node name that a @types/node lacks, with the compiler\'s message', () => {
    const missing = missingNodeNames(
      [
        { module: 'worker_threads', name: 'Worker', type: true },
        { module: 'worker_threads', name: 'NoSuchThing', type: true },
        { module: null, name: 'NodeJS.ProcessEnv', type: true },
      ],
      join(root, 'node_modules'),
    );
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatch(/^worker_threads: NoSuchThing: .*NoSuchThing/);
  });
});
