// The task module of example 08: the work one process does, with greenlets. The
// ProcessPool's children import it ({ file, name }); the parent imports it too, so
// every layout runs exactly the same code.
import { Pool, sleep } from 'greenio';

export interface Tally {
  pid: number;
  pages: number;
  words: number;
}

/** Fetch one page and do the per-page CPU work a crawler would (here: count words). */
export async function fetchAndCount(url: string): Promise<number> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const text = await response.text();
  const counts = new Map<string, number>();
  for (const word of text.split(/[^a-z]+/)) if (word) counts.set(word, (counts.get(word) ?? 0) + 1);
  return counts.get('lorem') ?? 0;
}

/**
 * Fetch every url with up to `concurrency` greenlets at once, in this process.
 * A Pool keeps the number in flight bounded: thousands of urls never mean thousands
 * of sockets.
 */
export async function fetchAll(urls: string[], concurrency: number): Promise<Tally> {
  const pool = new Pool(concurrency);
  const words = await pool.map(fetchAndCount, urls);
  return { pid: process.pid, pages: words.length, words: words.reduce((a, b) => a + b, 0) };
}

/**
 * Fetch one page and hold the child a moment: the parent runs one per child before
 * timing, so each child is started and its fetch machinery loaded.
 */
export async function warmUp(url: string, holdMs: number): Promise<number> {
  await fetchAndCount(url);
  await sleep(holdMs);
  return process.pid;
}
