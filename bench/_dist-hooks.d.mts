// Types of bench/_dist-hooks.mjs (test/package/bench-dist.test.ts imports it).
export function distOf(url: string): string | null;
export function redirect<R extends { url: string }>(r: R): R;
