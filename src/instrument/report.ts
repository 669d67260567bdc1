/**
 * The IO report of `greenio run --report`: one row per greenlet (id and name, function,
 * lifetime, then count and wait time for each kind of IO, and its `*Sync` calls), with
 * totals. `startReport()` keeps the row of each greenlet as it finishes (a finished
 * greenlet is otherwise forgotten); `formatReport()` adds the live ones and renders.
 * Limits: only the busiest `limit` greenlets are listed (all count in the totals), and
 * rows beyond `maxRows` finished greenlets are folded into the totals only.
 */
import diagnostics from 'node:diagnostics_channel';
import * as hub from '../hub/index.js';
import type { Greenlet } from '../greenlet.js';
import { ms as fmtMs } from '../hub/index.js';
import { checkInt, checkOptions } from '../internal/validate.js';
import type { GreenletEndMessage } from './channels.js';
import { isSyncKind } from './stats.js';

/** Options of `startReport()`. */
export interface ReportCollectOptions {
  /** Keep the rows of at most this many finished greenlets. Default 100,000. */
  maxRows?: number;
}

/** Options of `formatReport()`. */
export interface ReportOptions {
  /** List at most this many greenlets (the ones that waited longest). Default 40. */
  limit?: number;
  /** Kinds shown in columns of their own (the most used); the rest go under `other`. Default 5. */
  columns?: number;
}

interface Cell {
  count: number;
  totalMs: number;
}
interface Row {
  id: number;
  label: string;
  fn: string;
  start: number;
  /** -1 while alive. */
  end: number;
  failed: boolean;
  kinds: Map<string, Cell>;
}
interface Collector {
  t0: number;
  rows: Row[];
  maxRows: number;
  /** Totals of the finished greenlets beyond `maxRows`. */
  folded: Map<string, Cell>;
  foldedCount: number;
}

let collector: Collector | null = null;

function rowOf(g: Greenlet, end: number, failed: boolean): Row {
  const kinds = new Map<string, Cell>();
  for (const r of hub.ioOf(g)) kinds.set(r.kind.name, { count: r.count, totalMs: r.totalMs });
  return { id: g.id, label: `#${g.id} ${g.name}`, fn: g.fnName, start: g.startedAt, end, failed, kinds };
}

function addCells(into: Map<string, Cell>, from: Map<string, Cell>): void {
  for (const [k, c] of from) {
    const t = into.get(k);
    if (t === undefined) into.set(k, { ...c });
    else {
      t.count += c.count;
      t.totalMs += c.totalMs;
    }
  }
}

function onEnd(m: unknown): void {
  const c = collector!;
  const { greenlet, ok } = m as GreenletEndMessage;
  const row = rowOf(greenlet, performance.now(), !ok);
  if (c.rows.length < c.maxRows) c.rows.push(row);
  else {
    addCells(c.folded, row.kinds);
    c.foldedCount++;
  }
}

/**
 * Start keeping the IO totals of every greenlet that finishes, for `formatReport()`.
 * @example
 * import { startReport, formatReport, spawn, sleep } from 'greenio';
 * startReport();
 * await spawn(async function nap() { await sleep(20); }).join();
 * process.stderr.write(formatReport());
 */
export function startReport(options?: ReportCollectOptions): void {
  const o = checkOptions('options', options);
  const maxRows = o.maxRows ?? 100_000;
  checkInt('maxRows', maxRows, 0);
  if (collector !== null) return;
  collector = { t0: performance.now(), rows: [], maxRows, folded: new Map(), foldedCount: 0 };
  diagnostics.subscribe('greenio:greenlet:end', onEnd);
}

/** Stop keeping rows (what was kept is dropped). */
export function stopReport(): void {
  if (collector === null) return;
  diagnostics.unsubscribe('greenio:greenlet:end', onEnd);
  collector = null;
}

const cellText = (c: Cell | undefined): string => (c === undefined || c.count === 0 ? '-' : `${c.count} / ${fmtMs(c.totalMs)}`);

/**
 * The report as a text table: the main greenlet, the greenlets that finished since
 * `startReport()` and the live ones, with totals.
 * @example
 * import { formatReport } from 'greenio';
 * console.error(formatReport({ limit: 10 }));
 */
export function formatReport(options?: ReportOptions): string {
  const o = checkOptions('options', options);
  const limit = o.limit ?? 40;
  const columns = o.columns ?? 5;
  checkInt('limit', limit, 0);
  checkInt('columns', columns, 0);
  const now = performance.now();
  const c = collector;
  const rows: Row[] = [...(c?.rows ?? []), ...hub.liveGreenlets().map((g) => rowOf(g as Greenlet, -1, false))];
  rows.sort((a, b) => a.id - b.id);
  const mainRow = rowOf(hub.main as Greenlet, -1, false);
  mainRow.start = c?.t0 ?? 0;
  const all = [mainRow, ...rows];
  const totals = new Map<string, Cell>();
  for (const r of all) addCells(totals, r.kinds);
  if (c !== null) addCells(totals, c.folded);
  const waitKinds = [...totals].filter(([k]) => !isSyncKind(k)).sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : 1));
  const shown = waitKinds.slice(0, columns).map(([k]) => k);
  const hasOther = waitKinds.length > shown.length;
  const waitedMs = (r: Row): number => [...r.kinds].reduce((t, [k, x]) => t + (isSyncKind(k) ? 0 : x.totalMs), 0);
  const listed = new Set([mainRow, ...[...rows].sort((a, b) => waitedMs(b) - waitedMs(a)).slice(0, limit)]);
  const cellsOf = (kinds: Map<string, Cell>): string[] => {
    const other: Cell = { count: 0, totalMs: 0 };
    const sync: Cell = { count: 0, totalMs: 0 };
    for (const [k, x] of kinds) {
      const into = isSyncKind(k) ? sync : shown.includes(k) ? null : other;
      if (into === null) continue;
      into.count += x.count;
      into.totalMs += x.totalMs;
    }
    return [...shown.map((k) => cellText(kinds.get(k))), ...(hasOther ? [cellText(other)] : []), cellText(sync)];
  };
  const head = ['greenlet', 'function', 'lifetime', ...shown, ...(hasOther ? ['other'] : []), 'sync calls'];
  const body: string[][] = [];
  for (const r of all) {
    if (!listed.has(r)) continue;
    const life = r.end < 0 ? `${fmtMs(now - r.start)}, alive` : `${fmtMs(r.end - r.start)}${r.failed ? ', failed' : ''}`;
    body.push([r.label, r.fn || '-', r === mainRow ? '-' : life, ...cellsOf(r.kinds)]);
  }
  const finished = (c?.rows.length ?? 0) + (c?.foldedCount ?? 0);
  const unlisted = rows.length - (listed.size - 1) + (c?.foldedCount ?? 0);
  const foot = ['total', '', '', ...cellsOf(totals)];
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length), foot[i]!.length));
  const line = (cells: string[]): string => cells.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const k = hub.counters;
  const out = [
    `greenio report (pid ${process.pid}): ${finished} greenlet(s) finished, ${k.alive} alive, peak ${k.peak} at once; cells are count / total wait`,
    line(head),
    rule,
    ...body.map(line),
    ...(unlisted > 0 ? [`... ${unlisted} more greenlet(s) not listed (counted in the total)`] : []),
    rule,
    line(foot),
  ];
  return `${out.join('\n')}\n`;
}
