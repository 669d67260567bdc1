/**
 * The toolchains the type tests check the published types with: each supported @types/node
 * major with TypeScript 5.9 and the newest major, installed from the npm registry once into
 * node_modules/.cache/greenio-typecheck (later runs are offline). Limit: pinned versions.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { npm, registryHint, root } from './pack.js';

// The newest release of each @types/node major, and of TypeScript 5.9 and the newest major.
export const TYPES_NODE = ['20.19.43', '22.20.7', '24.19.4', '26.6.11'];
export const TYPESCRIPT = [
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
export const CHECKED = PRIMARY ? TYPES_NODE : [MINE];
export const WHY = PRIMARY ? 'primary Node: whole matrix' : `Node ${major(process.versions.node)}: its own @types/node; the primary Node checks the others`;

/** node_modules with one @types/node, both TypeScripts and bullmq, installed once. */
export async function toolchain(typesNode: string): Promise<string> {
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

