// 10,000 greenlets each sleep(10): wall time from the first spawn to joinAll's return,
// against the ideal 10 ms and raw promises around setTimeout.
import { joinAll, sleep, spawn } from '../src/index.js';
import { defineWorkload, timeIt } from './lib.js';

const N = Number(process.env.N ?? 10_000);

export default defineWorkload({
  name: 'sleep_fanout',
  description: `${N} greenlets sleep(10) at once; wall ms (ideal 10)`,
  variants: {
    async greenio() {
      const ms = await timeIt(async () => {
        const gs = new Array(N);
        for (let i = 0; i < N; i++) gs[i] = spawn(() => sleep(10));
        await joinAll(gs);
      });
      return { wall_ms: ms, overhead_ms: ms - 10, per_s: N / (ms / 1000) };
    },
    async raw() {
      const ms = await timeIt(async () => {
        const ps = new Array(N);
        for (let i = 0; i < N; i++) ps[i] = new Promise((r) => setTimeout(r, 10));
        await Promise.all(ps);
      });
      return { wall_ms: ms, overhead_ms: ms - 10, per_s: N / (ms / 1000) };
    },
  },
  gevent: { script: 'sleep_fanout.py', variants: { gevent: { wall_ms: '1000*wall_s', per_s: 'N/wall_s' } } },
  ratios: [
    { label: 'greenio / raw promises (per_s)', metric: 'per_s', numerator: 'greenio', denominator: 'raw' },
    { label: 'greenio / Python gevent (per_s)', metric: 'per_s', numerator: 'greenio', denominator: 'gevent' },
  ],
});
