// Heap bytes per parked greenlet: 100,000 greenlets waiting on one Event (and, as a
// second shape, joining one greenlet that never ends), against 100,000 async functions
// awaiting one promise.
import { Event, sleep, spawn } from '../src/index.js';
import { defineWorkload, gc } from './lib.js';

const N = Number(process.env.N ?? 100_000);

async function measure(park: () => unknown[]): Promise<number> {
  await sleep(10);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const held = park();
  await sleep(10); // let every task reach its wait
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  void held.length;
  return (after - before) / N;
}

export default defineWorkload({
  name: 'parked_memory',
  description: `heap bytes per greenlet parked in a wait (N=${N})`,
  nodeArgs: ['--expose-gc'],
  variants: {
    async greenio() {
      const ev = new Event();
      const bytes = await measure(() => {
        const gs = new Array(N);
        for (let i = 0; i < N; i++) gs[i] = spawn(() => ev.wait());
        return gs;
      });
      ev.set();
      return { bytes_per_parked: bytes };
    },
    async greenio_join() {
      let release!: () => void;
      const gate = spawn(() => new Promise<void>((r) => (release = r)));
      const bytes = await measure(() => {
        const gs = new Array(N);
        for (let i = 0; i < N; i++) gs[i] = spawn(() => gate.join());
        return gs;
      });
      release();
      return { bytes_per_parked: bytes };
    },
    async raw() {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const bytes = await measure(() => {
        const ps = new Array(N);
        for (let i = 0; i < N; i++) ps[i] = (async () => { await gate; })();
        return ps;
      });
      release();
      return { bytes_per_parked: bytes };
    },
  },
  gevent: { script: 'spawn_join.py', variants: { gevent: { bytes_per_parked: 'bytes_per_blocked_greenlet' } } },
  ratios: [
    { label: 'greenio bytes per parked greenlet', metric: 'bytes_per_parked', numerator: 'greenio', target: 1024, atMost: true, goal: 'heap per parked greenlet, bytes' },
    { label: 'raw / greenio bytes (higher = leaner)', metric: 'bytes_per_parked', numerator: 'raw', denominator: 'greenio' },
    { label: 'gevent / greenio bytes (higher = leaner)', metric: 'bytes_per_parked', numerator: 'gevent', denominator: 'greenio' },
  ],
});
