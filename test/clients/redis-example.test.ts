/**
 * examples/redis-consumer.mjs, run as a user runs it (`node --import greenio/patch`,
 * the built package) against a real redis-server: patched, every job is done exactly
 * once and nothing stays blocked on the server; unpatched, the same program loses jobs
 * to abandoned BLPOPs (what the integration is for).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../servers/redis.js';

const repo = resolve(fileURLToPath(new URL('../..', import.meta.url)));
let redis: RedisServer;

beforeAll(async () => {
  if (!existsSync(resolve(repo, 'dist/src/index.js'))) throw new Error('examples import the built package: run `npm run build` first');
  redis = await startRedis();
}, 30_000);
afterAll(async () => {
  await redis?.stop();
});

function run(nodeArgs: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GREENIO_') && k !== 'NODE_OPTIONS'));
  return new Promise((done) => {
    execFile(process.execPath, [...nodeArgs, 'examples/redis-consumer.mjs'], { cwd: repo, env: { ...env, REDIS_URL: redis.url }, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

const field = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);

describe('examples/redis-consumer.mjs', () => {
  it('patched: 300 jobs through timeouts and kills, each done exactly once, none left blocked', async () => {
    const r = await run(['--import', 'greenio/patch']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^patched: Redis commands are greenlet ops$/m);
    expect(r.stdout).toMatch(/pushed 300 jobs; done 300, left in the list 0, lost 0, done twice 0/);
    expect(field(r.stdout, /idle BLPOP timeouts: (\d+) \(each ended on the server/)).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/blocked on the server after the stop: 0/);
  }, 90_000);

  it('unpatched: timed-out and killed BLPOPs stay blocked on the server and take jobs', async () => {
    const r = await run([]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^not patched/m);
    const lost = field(r.stdout, /lost (\d+)/);
    const blocked = field(r.stdout, /blocked on the server after the stop: (\d+)/);
    expect(lost + blocked).toBeGreaterThan(0);
  }, 90_000);
});
