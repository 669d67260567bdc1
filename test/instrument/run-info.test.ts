import { describe, expect, it } from 'vitest';
import { sharedRun } from '../shared-run.js';
import { Queue, getCurrent, sleep, spawn } from '../../src/index.js';
import { config } from '../../src/internal/config.js';
import { enableRunInfoSignal, formatRunInfo, printRunInfo } from '../../src/instrument/run-info.js';
import { runFixture, type FixtureRun } from '../run-fixture.js';

/** The block of lines run info shows for the greenlet whose title line matches `title`. */
function section(text: string, title: RegExp): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => title.test(l));
  if (i < 0) return '';
  const indent = lines[i]!.search(/#\d/);
  const out = [lines[i]!];
  for (const l of lines.slice(i + 1)) {
    if (/#\d+ /.test(l) && l.search(/#\d/) <= indent) break;
    out.push(l);
  }
  return out.join('\n');
}

describe('formatRunInfo() on a live patched program', () => {
  let run: FixtureRun;
  let text: string;
  sharedRun(() => {
    run = runFixture('instrument-runinfo.ts');
    text = String(run.json.text);
  }, 30_000);

  it('runs, and every blocked greenlet is unblocked afterwards (the FIFO read gets its data)', () => {
    expect(run.status, run.stderr).toBe(0);
    expect(run.json.fifoText).toBe('through the fifo');
    expect(run.json.got).toBe(7);
    expect(String(run.json.after)).toMatch(/0 greenlet\(s\) alive \(peak 6, finished 6\)/);
  });

  it('has a header with the pid and the counters', () => {
    expect(text.split('\n')[0]).toMatch(/^greenio run info, pid \d+, \d{4}-\d\d-\d\dT.*: 6 greenlet\(s\) alive \(peak 6, finished 0\)$/);
  });

  it('shows the greenlet reading a FIFO nobody writes to as waiting on fs.readFile <path>, with since when', () => {
    const s = section(text, /#1 fifo-reader \(readFifo\)/);
    expect(s).toMatch(/#1 fifo-reader \(readFifo\) \[waiting, up \d+(\.\d)? ms\]/);
    const fifo = String(run.json.fifo).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(s).toMatch(new RegExp(`waits on: fs\\.readFile ${fifo} \\(for \\d+(\\.\\d)? ms, since \\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\)`));
  });

  it('shows the greenlet on a silent TCP server as waiting on net read, and owning its socket', () => {
    const s = section(text, /#2 net-reader \(readSocket\)/);
    expect(s).toMatch(new RegExp(`waits on: net read 127\\.0\\.0\\.1:${run.json.port} \\(for `));
    expect(s).toMatch(new RegExp(`owns: net\\.socket 127\\.0\\.0\\.1:${run.json.port} \\(for `));
    // Waits come first, then the handles it owns.
    expect(s.indexOf('waits on:')).toBeLessThan(s.indexOf('owns:'));
  });

  it('shows queue.get with the queue, and sleep with its duration', () => {
    expect(section(text, /#3 consumer \(consume\)/)).toMatch(/waits on: queue\.get Queue size=0 getters=1 putters=0 \(for /);
    expect(section(text, /#4 sleeper \(nap\)/)).toMatch(/waits on: sleep 10000ms \(for /);
  });

  it('draws the spawn tree: the child under its parent, the rest under main', () => {
    const lines = text.split('\n').filter((l) => /#\d+ /.test(l));
    expect(lines.map((l) => l.replace(/ \[.*$/, ''))).toEqual([
      '#0 main',
      '├─ #1 fifo-reader (readFifo)',
      '├─ #2 net-reader (readSocket)',
      '├─ #3 consumer (consume)',
      '├─ #4 sleeper (nap)',
      '└─ #5 parent (supervise)',
      '   └─ #6 child (work)',
    ]);
    expect(section(text, /#5 parent/)).toMatch(/waits on: join child \(work\)/);
  });

  it('shows where each greenlet was spawned (config.trackGreenletTree), without greenio frames', () => {
    const child = section(text, /#6 child \(work\)/);
    expect(child).toMatch(/spawned at:\n\s+at supervise \(.*instrument-runinfo\.ts:\d+:\d+\)/);
    expect(section(text, /#1 fifo-reader/)).toMatch(/spawned at:\n.*instrument-runinfo\.ts:\d+:\d+/);
    expect(text).not.toMatch(/src[/\\]greenlet\.ts/);
  });

  it('enableRunInfoSignal() prints it on SIGUSR2, and its disabler removes the handler', () => {
    expect(String(run.json.signalled)).toMatch(/^greenio run info, pid \d+/);
    expect(String(run.json.signalled)).toMatch(/#1 fifo-reader \(readFifo\) \[waiting/);
    expect(run.json.listenersAfter).toBe(0);
  });
});

describe('formatRunInfo() in process', () => {
  it('shows queue.get and sleep waits, and main as running', async () => {
    const q = new Queue<string>();
    const g = spawn(async function getter() {
      return q.get();
    });
    const s = spawn(async function napper() {
      await sleep(5000);
    });
    s.name = 'napper';
    await sleep(10);
    const text = formatRunInfo();
    expect(text).toMatch(/^#0 main \[running/m);
    expect(text).toMatch(new RegExp(`#${g.id} Greenlet-${g.id} \\(getter\\) \\[waiting[^\\n]*\\n.*waits on: queue\\.get Queue size=0 getters=1`));
    expect(text).toMatch(new RegExp(`#${s.id} napper \\(napper\\) \\[waiting[^\\n]*\\n.*waits on: sleep 5000ms`));
    q.put('x');
    await g.join();
    await s.kill();
    expect(formatRunInfo()).not.toMatch(/getter|napper/);
  });

  it('shows the state of a greenlet that runs (the current one) and of one not started yet', async () => {
    let inside = '';
    const g = spawn(async function self() {
      inside = formatRunInfo();
    });
    const later = spawn(() => 1);
    await g.join();
    await later.join();
    expect(inside).toMatch(new RegExp(`#${g.id} Greenlet-${g.id} \\(self\\) \\[running`));
    expect(inside).toMatch(new RegExp(`#${later.id} Greenlet-${later.id} \\[scheduled\\]`));
    expect(getCurrent().name).toBe('main');
  });

  it('leaves spawn stacks out when asked, and has none without config.trackGreenletTree', async () => {
    expect(config.trackGreenletTree).toBe(false);
    const g = spawn(() => sleep(1000));
    await sleep(1);
    expect(formatRunInfo()).not.toMatch(/spawned at:/);
    config.trackGreenletTree = true;
    const h = spawn(() => sleep(1000));
    config.trackGreenletTree = false;
    await sleep(1);
    expect(formatRunInfo()).toMatch(/spawned at:\n.*run-info\.test\.ts:\d+/);
    expect(formatRunInfo({ stacks: false })).not.toMatch(/spawned at:/);
    await Promise.all([g.kill(), h.kill()]);
  });

  it('printRunInfo() writes to the given sink; bad arguments throw TypeError/RangeError', () => {
    const out: string[] = [];
    printRunInfo({ write: (s: string) => out.push(s) });
    expect(out.join('')).toMatch(/^greenio run info/);
    expect(() => printRunInfo({} as never)).toThrow(TypeError);
    expect(() => formatRunInfo(3 as never)).toThrow(/Expected `options` to be an options object, got `3` \(number\)/);
    expect(() => enableRunInfoSignal('USR2' as never)).toThrow(TypeError);
    expect(() => enableRunInfoSignal('SIGKILL')).toThrow(RangeError);
  });

  it('enableRunInfoSignal() installs nothing until called, one handler per signal, removed by its disabler', () => {
    const base = process.listenerCount('SIGUSR2');
    const off1 = enableRunInfoSignal('SIGUSR2', { write: () => {} });
    const off2 = enableRunInfoSignal('SIGUSR2', { write: () => {} });
    expect(process.listenerCount('SIGUSR2')).toBe(base + 1);
    off2();
    off1();
    expect(process.listenerCount('SIGUSR2')).toBe(base);
  });
});
