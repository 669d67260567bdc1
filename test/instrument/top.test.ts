// `greenio top PID` rendered in a real terminal (tmux, captured with capture-pane) against
// test/fixtures/ps-target.ts in 'busy' mode, where three greenlets burn the CPU in slices
// of 8, 2 and 0 ms: sorted by busy time the hottest comes first; the sorting keys, the
// filter and the detail view work; q quits and the target's socket closes. Not a terminal:
// one view printed.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greenio, startTarget, type Target } from './attach-helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const server = `greenio-top-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', server, '-f', '/dev/null', ...args], { encoding: 'utf8' });
}
function screen(): string {
  return tmux('capture-pane', '-p', '-t', 'top');
}
/** Wait until the screen matches `re` (the view refreshes every second). */
async function until(re: RegExp, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  let s = '';
  while (Date.now() < end) {
    s = screen();
    if (re.test(s)) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the screen never matched ${re}:\n${s}`);
}
/** Data rows of the list: [id, name] in screen order. */
function rows(s: string): Array<[number, string]> {
  const lines = s.split('\n');
  const head = lines.findIndex((l) => /^\s+# NAME/.test(l));
  const out: Array<[number, string]> = [];
  for (const l of lines.slice(head + 1)) {
    const m = /^\s+(\d+) (\S+)/.exec(l);
    if (m === null) break;
    out.push([Number(m[1]), m[2]!]);
  }
  return out;
}

describe('greenio top PID', () => {
  let target: Target;

  beforeAll(async () => {
    target = await startTarget('ps-target.ts', ['busy'], { GREENIO_MAX_BLOCKING_TIME: '5' });
    const cmd = `${process.execPath} --import tsx --input-type=module -e 'const { main } = await import(${JSON.stringify(cli)}); process.exitCode = await main(["top", "${target.pid}"]);'; sleep 30`;
    tmux('new-session', '-d', '-s', 'top', '-x', '160', '-y', '50', '-c', root, cmd);
  }, 120_000);

  afterAll(async () => {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    await target?.stop();
  });

  it('shows the greenlets sorted by busy time: the hottest burner first', async () => {
    // Busy times are measured from the attach: give them a few refreshes to separate.
    const s = await until(/sort: busy[^\n]*\n[^\n]*# NAME[^\n]*\n\s+4 hot \(burner\)/, 30_000);
    expect(s).toMatch(/^greenio top - pid \d+ \(node v[\d.]+\) - 1007 alive/m);
    expect(s).toMatch(/^\s+# NAME\s+STATE\s+BUSY\s+IDLE\s+SCHED\s+WAITS ON/m);
    const r = rows(s);
    expect(r[0]).toEqual([4, 'hot']);
    expect(r.findIndex(([id]) => id === 5)).toBeLessThan(r.findIndex(([id]) => id === 6)); // warm before cool
    expect(s).toMatch(/waiting now by kind: .*queue\.get 400/);
    expect(s).toMatch(/R\d+ <Lock 'db' counter=0, 199 waiting>/);
  });

  it('warns of a run slice longer than maxBlockingTime, and of a greenlet waking itself without IO', async () => {
    const s = await until(/warning: #7 yielder \(yielder\) woke itself \d+ times with sleep\(0\)/);
    expect(s).toMatch(/warning: #4 hot \(burner\) ran [\d.]+ ms without a switch \(more than 5 ms; see greenio run --monitor\)/);
  });

  it("'i' sorts by idle time: the burners drop out of the top rows", async () => {
    tmux('send-keys', '-t', 'top', 'i');
    const s = await until(/sort: idle/);
    const top = rows(s).slice(0, 3).map(([id]) => id);
    expect(top).not.toContain(4);
    expect(top).not.toContain(5);
  });

  it("'/' filters by name, and a number then Enter shows that greenlet's waits", async () => {
    tmux('send-keys', '-t', 'top', 'b', '/', 'w', 'a', 'r', 'm', 'Enter');
    let s = await until(/filter 'warm'/);
    expect(rows(s)).toEqual([[5, 'warm']]);
    tmux('send-keys', '-t', 'top', '1', 'Enter');
    s = await until(/#1 queues \(queueSupervisor\) \[waiting/);
    expect(s).toMatch(/waits \(innermost flow last\):\n\s+sleep 3600000ms \(for [\d.]+ (ms|s)\)/);
    tmux('send-keys', '-t', 'top', 'Escape');
    await until(/# NAME/);
  });

  it("'q' quits, and the target closes its socket", async () => {
    tmux('send-keys', '-t', 'top', 'q');
    const sock = join(tmpdir(), `greenio-${process.getuid!()}`, `${target.pid}.sock`);
    const end = Date.now() + 10_000;
    while (existsSync(sock) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(sock)).toBe(false);
    expect(target.stderr()).toBe('');
  });

  it('not a terminal: prints one view and exits', async () => {
    const r = await greenio(['top', String(target.pid)]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^greenio top - pid \d+/);
    expect(r.stdout).not.toMatch(/\u001b\[/);
    expect(rows(r.stdout)[0]![1]).toBe('hot');
  });
});
