// The redirect of bench/_dist.mjs: a URL in src/ or patches/ (as tsx resolves it, .ts, or
// as written, .js) becomes its twin in dist/. `resolve` is the hook module.register runs on
// the loader thread where module.registerHooks is missing (Node 20). No side effects.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url).href;
const dirs = ['src/', 'patches/'].map((d) => root + d);

/** The dist/ twin of `url`, or null for a URL outside src/ and patches/. */
export function distOf(url) {
  if (!dirs.some((d) => url.startsWith(d)) || !/\.[jt]s$/.test(url)) return null;
  const out = `${root}dist/${url.slice(root.length, -3)}.js`;
  if (!existsSync(fileURLToPath(out))) throw new Error(`bench/_dist.mjs: ${out} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
  return out;
}

/** A resolve result, pointed at its dist/ twin when it has one (both hook flavours use it). */
export function redirect(r) {
  const url = distOf(r.url);
  return url === null ? r : { ...r, url, format: 'module' };
}

export async function resolve(specifier, context, next) {
  return redirect(await next(specifier, context));
}
