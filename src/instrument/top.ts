/**
 * `greenio top PID`: a live view of a process, refreshed every second with plain ANSI:
 * greenlets sorted by busy time (or idle, or scheduled delay), their current wait,
 * totals per kind of wait and the resources in use. Keys: b/i/s sort, / filters by
 * name, a number then Enter (or Enter alone: the first row) shows one greenlet's stack
 * of waits, Esc goes back, q quits. Not a terminal: one snapshot printed, then exit.
 */
import type { AttachSession } from './attach-client.js';
import { formatResources, psTitle, type PsGreenlet, type PsSnapshot } from './ps.js';
import { ms as fmtMs } from '../hub/index.js';

/** What the view shows now. */
export interface TopState {
  sort: 'busy' | 'idle' | 'scheduled';
  filter: string;
  /** Typing a filter (after `/`) or a greenlet number. */
  input: { kind: 'filter' | 'id'; text: string } | null;
  /** The greenlet shown in detail, or null for the list. */
  detail: number | null;
}

export function initialTopState(): TopState {
  return { sort: 'busy', filter: '', input: null, detail: null };
}

const KEY_OF = { busy: 'busyMs', idle: 'idleMs', scheduled: 'scheduledMs' } as const;

function pad(s: string, n: number): string {
  return s.length >= n ? `${s.slice(0, Math.max(0, n - 1))}…` : s + ' '.repeat(n - s.length);
}
function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}
function t(ms: number | undefined): string {
  return ms === undefined ? '-' : fmtMs(ms);
}

/** The rows shown: filtered by name, sorted by the chosen time (largest first). */
export function topRows(s: PsSnapshot, st: TopState): PsGreenlet[] {
  const key = KEY_OF[st.sort];
  const f = st.filter.toLowerCase();
  return s.greenlets
    .filter((g) => f === '' || `${g.name} ${g.fn ?? ''}`.toLowerCase().includes(f))
    .sort((a, b) => (b.times?.[key] ?? 0) - (a.times?.[key] ?? 0) || a.id - b.id);
}

/** The screen for a snapshot, as lines no wider than `width`. */
export function renderTop(s: PsSnapshot, st: TopState, width = 120, height = 40): string[] {
  const out: string[] = [];
  const c = s.counters;
  out.push(`greenio top - pid ${s.pid} (node ${s.node}) - ${c.alive} alive, peak ${c.peak}, finished ${c.finished} - ${s.time.slice(11, 19)} UTC`);
  const help = st.input !== null
    ? `${st.input.kind === 'filter' ? 'filter' : 'greenlet #'}: ${st.input.text}_ (Enter: apply, Esc: cancel)`
    : `sort: ${st.sort} [b]usy [i]dle [s]cheduled   [/] filter${st.filter ? ` '${st.filter}'` : ''}   [0-9 Enter] waits of one   [q]uit`;
  out.push(help);
  if (st.detail !== null) {
    out.push(...detailLines(s, st.detail));
    return out.map((l) => l.slice(0, width));
  }
  const waitCol = Math.max(20, width - 70);
  out.push(`${lpad('#', 6)} ${pad('NAME', 28)} ${pad('STATE', 10)}${lpad('BUSY', 9)}${lpad('IDLE', 9)}${lpad('SCHED', 9)}  ${pad('WAITS ON', waitCol)}`);
  const rows = topRows(s, st);
  const kinds = new Map<string, number>();
  for (const g of s.greenlets) for (const w of g.waits) kinds.set(w.kind, (kinds.get(w.kind) ?? 0) + 1);
  const footer: string[] = [];
  footer.push(`waiting now by kind: ${[...kinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(' · ') || 'none'}`);
  const res = formatResources(s, true);
  const warn = topWarnings(s).slice(0, 6);
  footer.push(...warn);
  const room = Math.max(3, height - out.length - footer.length - Math.min(res.length, 8) - 1);
  for (const g of rows.slice(0, room)) {
    const w = g.waits[0];
    const wait = w === undefined ? '' : `${w.text} (${fmtMs(w.forMs)})`;
    out.push(`${lpad(String(g.id), 6)} ${pad(`${g.name}${g.fn ? ` (${g.fn})` : ''}`, 28)} ${pad(g.state, 10)}${lpad(t(g.times?.busyMs), 9)}${lpad(t(g.times?.idleMs), 9)}${lpad(t(g.times?.scheduledMs), 9)}  ${pad(wait, waitCol)}`);
  }
  if (rows.length > room) out.push(`   … ${rows.length - room} more (filter with /)`);
  out.push(...footer);
  out.push(...res.slice(0, 8));
  return out.map((l) => l.slice(0, width));
}

/** Loop saturation: a greenlet ready for longer than this (ms) before it ran. */
export const SATURATION_MS = 50;
/** A greenlet that yielded with `sleep(0)` this many times and waited on nothing else. */
export const SELF_WAKES = 100;

/**
 * tokio-console's kind of warnings, from the times measured since the attach: a run slice
 * longer than the process's `config.maxBlockingTime` (the blocking monitor reports each
 * as it happens: `greenio run --monitor`), a greenlet that waited more than 50 ms to run
 * once ready (the loop is saturated), one that wakes itself with `sleep(0)` and does no IO.
 */
export function topWarnings(s: PsSnapshot): string[] {
  // One line per greenlet, the rarest kind first: a loop saturated or slow slices would
  // otherwise hide a self-waking greenlet.
  const out: string[] = [];
  const later: string[] = [];
  for (const g of s.greenlets) {
    const t = g.times;
    if (t === null) continue;
    if (t.yields >= SELF_WAKES && t.waits === 0) out.push(`warning: ${psTitle(g)} woke itself ${t.yields} times with sleep(0) and waited on nothing else`);
    else if (t.maxSliceMs > s.maxBlockingMs) later.push(`warning: ${psTitle(g)} ran ${fmtMs(t.maxSliceMs)} without a switch (more than ${s.maxBlockingMs} ms; see greenio run --monitor)`);
    else if (t.maxScheduledMs > SATURATION_MS) later.push(`warning: ${psTitle(g)} waited ${fmtMs(t.maxScheduledMs)} to run once ready: the loop is saturated`);
  }
  return [...out, ...later];
}

/** One greenlet: its waits (nested by flow), handles, times, spawn site, resources. */
function detailLines(s: PsSnapshot, id: number): string[] {
  const g = s.greenlets.find((x) => x.id === id);
  if (g === undefined) return [`greenlet #${id} is not alive (Esc: back)`];
  const out = [`${psTitle(g)} [${g.state}${g.upMs !== null ? `, up ${fmtMs(g.upMs)}` : ''}], parent #${g.parent ?? '-'}   (Esc: back)`];
  if (g.times) {
    const x = g.times;
    out.push(`busy ${fmtMs(x.busyMs)}, idle ${fmtMs(x.idleMs)}, scheduled ${fmtMs(x.scheduledMs)}, ${x.slices} run slices (longest ${fmtMs(x.maxSliceMs)}), longest wait to run ${fmtMs(x.maxScheduledMs)}, ${x.waits} waits, ${x.yields} sleep(0)`);
  }
  out.push('waits (innermost flow last):');
  for (const w of g.waits) out.push(`  ${'  '.repeat(w.depth)}${w.text} (for ${fmtMs(w.forMs)})${w.resource !== null ? ` [R${w.resource}]` : ''}`);
  if (g.waits.length === 0) out.push('  none');
  if (g.owns.length > 0) out.push('owns:', ...g.owns.map((w) => `  ${w.text} (for ${fmtMs(w.forMs)})`));
  const held = s.resources.filter((r) => r.holders.some((h) => h.greenlet === id));
  if (held.length > 0) out.push('holds:', ...held.map((r) => `  R${r.id} ${r.state}`));
  if (g.spawnedAt) out.push('spawned at:', ...g.spawnedAt.map((l) => `  ${l}`));
  else if (g.fnSite) out.push(`fn ${g.fn ?? '(anonymous)'} at ${g.fnSite}`);
  return out;
}

/** Apply one key; returns false to quit. */
export function topKey(st: TopState, key: string, s: PsSnapshot | null): boolean {
  if (key === '\u0003') return false; // Ctrl-C
  if (st.input !== null) {
    const inp = st.input;
    if (key === '\u001b') st.input = null;
    else if (key === '\r' || key === '\n') {
      if (inp.kind === 'filter') st.filter = inp.text;
      else st.detail = Number(inp.text);
      st.input = null;
    } else if (key === '\u007f' || key === '\b') inp.text = inp.text.slice(0, -1);
    else if (inp.kind === 'filter' ? key >= ' ' : /^[0-9]$/.test(key)) inp.text += key;
    return true;
  }
  if (key === 'q') return false;
  if (key === '\u001b') st.detail = null;
  else if (key === 'b') st.sort = 'busy';
  else if (key === 'i') st.sort = 'idle';
  else if (key === 's') st.sort = 'scheduled';
  else if (key === '/') st.input = { kind: 'filter', text: '' };
  else if (/^[0-9]$/.test(key)) st.input = { kind: 'id', text: key };
  else if ((key === '\r' || key === '\n') && s !== null) st.detail = topRows(s, st)[0]?.id ?? null;
  return true;
}

/** Run the live view until `q` (a TTY), or print one snapshot (not a TTY). */
export async function runTop(session: AttachSession, out: NodeJS.WriteStream = process.stdout, input: NodeJS.ReadStream = process.stdin): Promise<void> {
  const st = initialTopState();
  if (!out.isTTY) {
    // Two reads a second apart, so busy/idle/scheduled mean something.
    await session.request('top', false);
    await new Promise((r) => setTimeout(r, 1000));
    out.write(`${renderTop(await session.request('top'), st, 160, 1000).join('\n')}\n`);
    return;
  }
  let last: PsSnapshot | null = null;
  let running = true;
  const draw = (): void => {
    if (last === null) return;
    const height = out.rows || 40;
    // No newline after the last line: the screen must not scroll its header away.
    const lines = renderTop(last, st, out.columns || 120, height).slice(0, height);
    out.write(`\u001b[H\u001b[2J${lines.join('\r\n')}`);
  };
  let wake: (() => void) | null = null;
  const onKey = (data: Buffer | string): void => {
    for (const key of data.toString('utf8')) {
      if (!topKey(st, key, last)) running = false;
    }
    draw();
    if (!running) wake?.();
  };
  if (input.isTTY) input.setRawMode(true);
  input.on('data', onKey);
  input.resume();
  out.write('\u001b[?1049h\u001b[?25l'); // the alternate screen, no cursor
  try {
    while (running) {
      last = await session.request('top');
      draw();
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 1000);
      });
    }
  } finally {
    input.removeListener('data', onKey);
    if (input.isTTY) input.setRawMode(false);
    input.pause();
    out.write('\u001b[?25h\u001b[?1049l');
  }
}
