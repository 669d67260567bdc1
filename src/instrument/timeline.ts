/**
 * `greenio report TRACE.json -o timeline.html`: turn a trace (greenio's, or any Chrome
 * trace-event JSON) into one self-contained HTML page, with no network use: one lane
 * per greenlet, its lifetime as a band, its IO waits as bars coloured by kind (stacked
 * in rows where they overlap), blocking events marked in red; hover for details,
 * ctrl+wheel or +/- to zoom, drag to pan. Limits: drawn on a canvas, so very short
 * waits show as 1-pixel bars until zoomed; async (`b`/`e`) events are not drawn.
 */
import type { TraceEvent } from './trace.js';

/** Options of `timelineHTML()`. */
export interface TimelineOptions {
  /** The page title (default: the process name in the trace, or `greenio timeline`). */
  title?: string;
}

/** What the page draws, computed here so that the page script stays small. */
interface Model {
  title: string;
  span: number;
  lanes: Array<{ name: string; rows: number; life: [number, number, string] | null }>;
  /** [lane, row, start ms, duration ms, kind index, detail, outcome ('' when it completed)]. */
  ops: Array<[number, number, number, number, number, string, string]>;
  kinds: Array<[string, string]>;
  blocks: Array<{ lane: number; s: number; d: number; name: string; site: string; stack: string }>;
}

const PHASES = new Set(['X', 'B', 'E', 'i', 'I', 'M', 'b', 'e', 'n', 's', 't', 'f', 'C', 'P', 'O', 'N', 'D', 'R']);

/**
 * Parse and check trace JSON (an array of events, or `{ traceEvents: [...] }`). Throws a
 * `SyntaxError` for bad JSON and a `TypeError` naming the first bad event otherwise.
 * @example
 * import { parseTrace } from 'greenio';
 * const events = parseTrace('{"traceEvents":[{"name":"sleep","ph":"X","ts":0,"dur":5,"pid":1,"tid":1}]}');
 * console.log(events.length); // 1
 */
export function parseTrace(text: string): TraceEvent[] {
  if (typeof text !== 'string') throw new TypeError(`Expected trace text to be a string, got ${typeof text}`);
  const data: unknown = JSON.parse(text);
  const events = Array.isArray(data) ? data : data !== null && typeof data === 'object' ? (data as { traceEvents?: unknown }).traceEvents : undefined;
  if (!Array.isArray(events)) throw new TypeError('not a Chrome trace: expected an array of events or an object with a traceEvents array');
  events.forEach((e: unknown, i) => {
    const ev = e as Partial<TraceEvent> | null;
    const bad = (why: string): never => {
      throw new TypeError(`trace event ${i} ${why}: ${JSON.stringify(e)?.slice(0, 120)}`);
    };
    if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) bad('is not an object');
    if (typeof ev!.ph !== 'string' || !PHASES.has(ev!.ph)) bad('has no valid `ph` (phase)');
    if (ev!.ph !== 'M' && typeof ev!.ts !== 'number') bad('has no numeric `ts`');
    if (ev!.ph === 'X' && (typeof ev!.dur !== 'number' || ev!.dur < 0)) bad('(a complete event) has no numeric `dur` >= 0');
    if (ev!.ph !== 'E' && typeof ev!.name !== 'string') bad('has no `name`');
  });
  return events as TraceEvent[];
}

function model(events: readonly TraceEvent[], title: string | undefined): Model {
  // Lanes: one per greenlet (greenio names its extra tracks with the same `greenlet`).
  const laneKey = new Map<string, string>();
  const laneName = new Map<string, string>();
  const sortKey = new Map<string, number>();
  let procName = '';
  for (const e of events) {
    if (e.ph !== 'M') continue;
    const tk = `${e.pid}:${e.tid}`;
    if (e.name === 'process_name' && typeof e.args?.name === 'string') procName = e.args.name;
    if (e.name === 'thread_name') {
      const g = e.args?.greenlet;
      const key = typeof g === 'number' ? `${e.pid}:g${g}` : tk;
      laneKey.set(tk, key);
      if (e.args?.lane === 0 || e.args?.lane === undefined) laneName.set(key, String(e.args?.name ?? tk));
    }
    if (e.name === 'thread_sort_index' && typeof e.args?.sort_index === 'number') sortKey.set(tk, e.args.sort_index);
  }
  const keyOf = (e: TraceEvent): string => laneKey.get(`${e.pid}:${e.tid}`) ?? `${e.pid}:${e.tid}`;
  // Complete events, with B/E pairs turned into them.
  const spans: TraceEvent[] = [];
  const openB = new Map<string, TraceEvent[]>();
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const e of events) {
    if (e.ph === 'X' || e.ph === 'i' || e.ph === 'I') spans.push(e);
    else if (e.ph === 'B') {
      const k = `${e.pid}:${e.tid}`;
      (openB.get(k) ?? openB.set(k, []).get(k)!).push(e);
    } else if (e.ph === 'E') {
      const b = openB.get(`${e.pid}:${e.tid}`)?.pop();
      if (b !== undefined) spans.push({ ...b, ph: 'X', dur: e.ts - b.ts, args: { ...b.args, ...e.args } });
    } else continue;
    t0 = Math.min(t0, e.ts);
    t1 = Math.max(t1, e.ts + (e.dur ?? 0));
  }
  if (!Number.isFinite(t0)) t0 = t1 = 0;
  const lanes: Model['lanes'] = [];
  const laneIndex = new Map<string, number>();
  const order = [...new Set(spans.map(keyOf))].sort((a, b) => (sortOf(a) - sortOf(b)) || (a < b ? -1 : 1));
  function sortOf(key: string): number {
    for (const [tk, k] of laneKey) if (k === key && sortKey.has(tk)) return sortKey.get(tk)!;
    return Number.MAX_SAFE_INTEGER;
  }
  for (const key of order) {
    laneIndex.set(key, lanes.length);
    lanes.push({ name: laneName.get(key) ?? key, rows: 1, life: null });
  }
  const kinds: Model['kinds'] = [];
  const kindIndex = new Map<string, number>();
  const ops: Model['ops'] = [];
  const blocks: Model['blocks'] = [];
  const rowEnds = new Map<number, number[]>();
  const ms = (us: number): number => (us - t0) / 1000;
  const sorted = spans.filter((e) => e.ph === 'X').sort((a, b) => a.ts - b.ts);
  for (const e of sorted) {
    const lane = laneIndex.get(keyOf(e))!;
    const s = ms(e.ts);
    const d = (e.dur ?? 0) / 1000;
    if (e.cat === 'greenlet') {
      lanes[lane]!.life = [s, d, String(e.args?.outcome ?? '')];
    } else if (e.cat === 'block') {
      blocks.push({ lane, s, d, name: e.name, site: String(e.args?.site ?? ''), stack: String(e.args?.stack ?? '') });
    } else {
      const ends = rowEnds.get(lane) ?? rowEnds.set(lane, []).get(lane)!;
      let row = ends.findIndex((end) => end <= s);
      if (row < 0) row = ends.push(0) - 1;
      ends[row] = s + d;
      lanes[lane]!.rows = Math.max(lanes[lane]!.rows, ends.length);
      const kname = e.name;
      let ki = kindIndex.get(kname);
      if (ki === undefined) {
        kindIndex.set(kname, (ki = kinds.length));
        kinds.push([kname, e.cat ?? 'other']);
      }
      const detail = e.args?.detail;
      const outcome = typeof e.args?.outcome === 'string' && e.args.outcome !== 'ok' ? e.args.outcome : '';
      ops.push([lane, row, s, d, ki, typeof detail === 'string' ? detail : detail === undefined ? '' : JSON.stringify(detail), outcome]);
    }
  }
  // Instant-only blocking reports (from other tools): a zero-length mark.
  for (const e of spans) {
    if ((e.ph === 'i' || e.ph === 'I') && e.cat === 'block' && !blocks.some((b) => b.lane === laneIndex.get(keyOf(e)) && Math.abs(b.s - ms(e.ts)) < 0.001)) {
      blocks.push({ lane: laneIndex.get(keyOf(e))!, s: ms(e.ts), d: Number(e.args?.durationMs ?? 0), name: e.name, site: String(e.args?.site ?? ''), stack: String(e.args?.stack ?? '') });
    }
  }
  return { title: title ?? (procName || 'greenio timeline'), span: Math.max(ms(t1), 0.001), lanes, ops, kinds, blocks };
}

const escapeHTML = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The timeline page for `trace` (events, or `{ traceEvents }`), as one HTML string
 * with its styles, script and data inline.
 * @example
 * import { startTrace, stopTrace, timelineHTML, spawn, sleep } from 'greenio';
 * import { writeFileSync } from 'node:fs';
 * startTrace();
 * await spawn(() => sleep(10)).join();
 * writeFileSync('timeline.html', timelineHTML(stopTrace()));
 */
export function timelineHTML(trace: readonly TraceEvent[] | { traceEvents: readonly TraceEvent[] }, options?: TimelineOptions): string {
  const events = Array.isArray(trace) ? trace : (trace as { traceEvents?: unknown }).traceEvents;
  if (!Array.isArray(events)) throw new TypeError('Expected `trace` to be an array of trace events or { traceEvents: [...] }');
  const title = options?.title;
  if (title !== undefined && typeof title !== 'string') throw new TypeError('Expected `options.title` to be a string');
  const m = model(events as TraceEvent[], title);
  // `<` escaped so that no string in the data can close the script element.
  const data = JSON.stringify(m).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHTML(m.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${TIMELINE_CSS}</style></head>
<body>
<header><h1>${escapeHTML(m.title)}</h1><div id="summary"></div><div id="legend"></div>
<div id="controls"><button id="zin" title="zoom in (+)">+</button><button id="zout" title="zoom out (-)">&minus;</button><button id="zreset" title="show all (0)">all</button>
<span class="hint">ctrl+wheel or +/- to zoom, drag to pan, hover for details</span></div></header>
<div id="scroll"><div id="content"><canvas id="cv"></canvas><div id="labels"></div><div id="markers"></div></div></div>
<div id="tip" hidden></div>
<script type="application/json" id="data">${data}</script>
<script>${TIMELINE_JS}</script>
</body></html>
`;
}

const TIMELINE_CSS = `*{box-sizing:border-box}body{margin:0;height:100vh;display:flex;flex-direction:column;font:12px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;background:#fff}
header{padding:8px 12px;border-bottom:1px solid #ddd;display:flex;flex-wrap:wrap;gap:6px 18px;align-items:center}
h1{font-size:15px;margin:0;font-weight:600}#summary{color:#555}#legend span{display:inline-flex;align-items:center;margin-right:10px}
#legend i{display:inline-block;width:11px;height:11px;margin-right:4px;border-radius:2px}
#controls button{font:inherit;min-width:28px;margin-right:3px;cursor:pointer}.hint{color:#888;margin-left:6px}
#scroll{position:relative;overflow:auto;flex:1;min-height:0}#content{position:relative}
#cv{position:absolute;top:0;left:var(--lw);display:block;cursor:grab}#cv.drag{cursor:grabbing}
#labels{position:absolute;left:0;top:0;width:var(--lw)}
.lane{position:absolute;left:0;width:100%;padding:2px 8px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;border-bottom:1px solid #eee;background:#fafafa}
.lane:nth-child(even){background:#f3f3f3}.lane b{font-weight:600}.lane small{color:#888;display:block}
#markers{position:absolute;top:0;left:var(--lw);right:0;pointer-events:none}
.block-marker{position:absolute;border-left:2px solid #d62728;pointer-events:auto;cursor:help}
.block-marker::before{content:'';position:absolute;left:-6px;top:-1px;border:5px solid transparent;border-top:7px solid #d62728}
#tip{position:fixed;z-index:10;max-width:560px;padding:6px 8px;background:#222;color:#fff;border-radius:4px;pointer-events:none;white-space:pre-wrap;font:11px/1.4 ui-monospace,monospace}`;

// The page script: plain ES5-style JavaScript, no dependencies, no network.
const TIMELINE_JS = `(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('data').textContent);
  var COLORS = { fs: '#f28e2b', net: '#4e79a7', dns: '#b07aa1', http: '#59a14f', child_process: '#76b7b2', timer: '#bab0ac', sync: '#edc948', stream: '#9c755f', other: '#8c8c8c' };
  var ROW = 14, PAD = 5, AXIS = 22, LW = 260;
  var scroll = document.getElementById('scroll'), content = document.getElementById('content');
  var cv = document.getElementById('cv'), ctx = cv.getContext('2d'), tip = document.getElementById('tip');
  var labels = document.getElementById('labels'), markers = document.getElementById('markers');
  document.documentElement.style.setProperty('--lw', LW + 'px');
  var tops = [], y = AXIS;
  D.lanes.forEach(function (l) { tops.push(y); y += l.rows * ROW + 2 * PAD + 14; });
  var totalH = y;
  // Ops by lane and row, sorted by start, for drawing and hit testing.
  var rows = D.lanes.map(function (l) { var r = []; for (var i = 0; i < l.rows; i++) r.push([]); return r; });
  D.ops.forEach(function (o, i) { rows[o[0]][o[1]].push(i); });
  var colorOf = function (k) { return COLORS[D.kinds[k][1]] || COLORS.other; };
  var fmt = function (ms) { return ms >= 1000 ? (ms / 1000).toFixed(2) + ' s' : ms >= 10 ? ms.toFixed(1) + ' ms' : ms.toFixed(3) + ' ms'; };
  var esc = function (s) { return String(s).replace(/[&<>]/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); };
  document.getElementById('summary').textContent = D.lanes.length + ' greenlet lane(s), ' + D.ops.length + ' wait(s), ' + D.blocks.length + ' blocking event(s), ' + fmt(D.span);
  var cats = {}; D.kinds.forEach(function (k) { cats[k[1]] = 1; });
  document.getElementById('legend').innerHTML = Object.keys(cats).sort().map(function (c) {
    return '<span><i style="background:' + (COLORS[c] || COLORS.other) + '"></i>' + esc(c) + '</span>'; }).join('') +
    '<span><i style="background:#c9e7c0"></i>lifetime</span><span><i style="background:#d62728"></i>blocked</span>';
  D.lanes.forEach(function (l, i) {
    var div = document.createElement('div');
    div.className = 'lane';
    div.style.top = tops[i] + 'px';
    div.style.height = (l.rows * ROW + 2 * PAD + 14) + 'px';
    var life = l.life ? fmt(l.life[1]) + (l.life[2] ? ', ' + l.life[2] : '') : '';
    div.innerHTML = '<b>' + esc(l.name) + '</b><small>' + esc(life) + '</small>';
    div.title = l.name;
    labels.appendChild(div);
  });
  var view = { a: 0, b: D.span }, W = 0, H = 0;
  var xOf = function (t) { return (t - view.a) / (view.b - view.a) * W; };
  var tOf = function (x) { return view.a + x / W * (view.b - view.a); };
  var blockEls = D.blocks.map(function (b) {
    var el = document.createElement('div');
    el.className = 'block-marker';
    el.style.top = (tops[b.lane] + 2) + 'px';
    el.style.height = (D.lanes[b.lane].rows * ROW + 2 * PAD + 10) + 'px';
    el.dataset.tip = b.name + ' for ' + fmt(b.d) + ' at +' + fmt(b.s) + (b.site ? '\\n' + b.site : '') + (b.stack ? '\\n' + b.stack : '');
    markers.appendChild(el);
    return el;
  });
  function resize() {
    var dpr = window.devicePixelRatio || 1;
    W = Math.max(100, scroll.clientWidth - LW); H = scroll.clientHeight;
    // The canvas covers the visible part only and follows the scroll (drawn lanes move).
    content.style.height = Math.max(totalH, H) + 'px';
    cv.style.width = W + 'px'; cv.style.height = H + 'px';
    cv.width = W * dpr; cv.height = H * dpr; ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    draw();
  }
  function draw() {
    var top = scroll.scrollTop;
    cv.style.top = top + 'px';
    ctx.clearRect(0, 0, W, H);
    ctx.font = '10px system-ui, sans-serif';
    D.lanes.forEach(function (l, i) {
      var y0 = tops[i] - top, h = l.rows * ROW + 2 * PAD + 14;
      if (y0 + h < AXIS || y0 > H) return;
      ctx.fillStyle = i % 2 ? '#f7f7f7' : '#fff'; ctx.fillRect(0, y0, W, h);
      if (l.life) { ctx.fillStyle = '#c9e7c0'; var lx = xOf(l.life[0]); ctx.fillRect(lx, y0 + 2, Math.max(1, xOf(l.life[0] + l.life[1]) - lx), 6); }
      rows[i].forEach(function (list, r) {
        var ry = y0 + 10 + PAD + r * ROW;
        for (var j = 0; j < list.length; j++) {
          var o = D.ops[list[j]];
          if (o[2] > view.b || o[2] + o[3] < view.a) continue;
          var x = xOf(o[2]), w = xOf(o[2] + o[3]) - x;
          ctx.fillStyle = colorOf(o[4]); ctx.fillRect(x, ry, Math.max(1, w > 3 ? w - 1 : w), ROW - 3);
          // Aborted ops get a dark edge; an await nothing could reach (abandoned) a red hatch.
          if (o[6] === 'abandoned') { ctx.strokeStyle = '#d62728'; ctx.lineWidth = 2; ctx.strokeRect(x + 1, ry + 1, Math.max(1, w - 2), ROW - 5); for (var hx = Math.max(x, -8); hx < Math.min(x + w, W); hx += 8) { ctx.beginPath(); ctx.moveTo(hx, ry + ROW - 3); ctx.lineTo(Math.min(hx + 6, x + w), ry); ctx.stroke(); } ctx.lineWidth = 1; }
          else if (o[6]) { ctx.strokeStyle = '#333'; ctx.strokeRect(x + 0.5, ry + 0.5, Math.max(1, w - 1), ROW - 4); }
          if (w > 40) { var label = D.kinds[o[4]][0]; if (ctx.measureText(label).width < w - 6) { ctx.fillStyle = '#222'; ctx.fillText(label, Math.max(x, 0) + 3, ry + ROW - 6); } }
        }
      });
    });
    D.blocks.forEach(function (b, i) {
      var x = xOf(b.s), w = Math.max(2, xOf(b.s + b.d) - x), y0 = tops[b.lane] - top;
      ctx.fillStyle = 'rgba(214,39,40,0.28)'; ctx.fillRect(x, y0, w, D.lanes[b.lane].rows * ROW + 2 * PAD + 14);
      blockEls[i].style.left = x + 'px'; blockEls[i].style.width = w + 'px';
      blockEls[i].style.display = x > W || x + w < 0 ? 'none' : '';
    });
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W, AXIS); ctx.fillStyle = '#555'; ctx.strokeStyle = '#ccc';
    var span = view.b - view.a, step = Math.pow(10, Math.floor(Math.log10(span / 8)));
    if (span / step > 16) step *= 5; else if (span / step > 8) step *= 2;
    ctx.beginPath();
    for (var t = Math.ceil(view.a / step) * step; t <= view.b; t += step) { var tx = Math.round(xOf(t)) + 0.5; ctx.moveTo(tx, AXIS - 6); ctx.lineTo(tx, AXIS); ctx.fillText(fmt(t), tx + 3, 12); }
    ctx.moveTo(0, AXIS - 0.5); ctx.lineTo(W, AXIS - 0.5); ctx.stroke();
  }
  function zoom(f, x) {
    var t = tOf(x === undefined ? W / 2 : x), a = t - (t - view.a) * f, b = t + (view.b - t) * f;
    if (b - a < 0.001) return;
    view.a = Math.max(-D.span * 0.05, a); view.b = Math.min(D.span * 1.05, b); draw();
  }
  function hit(cx, cy) {
    var r = cv.getBoundingClientRect(), x = cx - r.left, yy = cy - r.top + scroll.scrollTop;
    for (var i = 0; i < D.lanes.length; i++) {
      var row = Math.floor((yy - tops[i] - 10 - PAD) / ROW);
      if (row < 0 || row >= D.lanes[i].rows || yy < tops[i]) continue;
      var t = tOf(x), eps = (view.b - view.a) / W * 2, list = rows[i][row];
      for (var j = 0; j < list.length; j++) { var o = D.ops[list[j]]; if (o[2] - eps <= t && t <= o[2] + o[3] + eps) return list[j]; }
    }
    return -1;
  }
  function show(text, cx, cy) { tip.textContent = text; tip.hidden = false; tip.style.left = Math.min(cx + 12, innerWidth - 400) + 'px'; tip.style.top = (cy + 14) + 'px'; }
  var drag = null;
  cv.addEventListener('mousedown', function (e) { drag = { x: e.clientX, a: view.a, b: view.b }; cv.classList.add('drag'); });
  addEventListener('mouseup', function () { drag = null; cv.classList.remove('drag'); });
  addEventListener('mousemove', function (e) {
    if (drag) { var dt = (e.clientX - drag.x) / W * (drag.b - drag.a); view.a = drag.a - dt; view.b = drag.b - dt; draw(); return; }
    var m = e.target && e.target.classList && e.target.classList.contains('block-marker') ? e.target.dataset.tip : null;
    if (m) return show(m, e.clientX, e.clientY);
    var i = e.target === cv ? hit(e.clientX, e.clientY) : -1;
    if (i < 0) { tip.hidden = true; return; }
    var o = D.ops[i];
    show(D.kinds[o[4]][0] + (o[5] ? ' ' + o[5] : '') + '\\n' + D.lanes[o[0]].name + '\\nwaited ' + fmt(o[3]) + ' from +' + fmt(o[2]) + (o[6] ? '\\nended: ' + o[6] : ''), e.clientX, e.clientY);
  });
  cv.addEventListener('wheel', function (e) { if (!e.ctrlKey && !e.metaKey) return; e.preventDefault(); zoom(e.deltaY > 0 ? 1.25 : 0.8, e.clientX - cv.getBoundingClientRect().left); }, { passive: false });
  cv.addEventListener('dblclick', function (e) { zoom(0.5, e.clientX - cv.getBoundingClientRect().left); });
  addEventListener('keydown', function (e) { if (e.key === '+' || e.key === '=') zoom(0.8); else if (e.key === '-') zoom(1.25); else if (e.key === '0') { view.a = 0; view.b = D.span; draw(); } });
  document.getElementById('zin').onclick = function () { zoom(0.5); };
  document.getElementById('zout').onclick = function () { zoom(2); };
  document.getElementById('zreset').onclick = function () { view.a = 0; view.b = D.span; draw(); };
  scroll.addEventListener('scroll', draw);
  addEventListener('resize', resize);
  resize();
  // For tests and scripts: where op i is drawn, in page coordinates (after scrolling it into view).
  window.greenioTimeline = { lanes: D.lanes.length, ops: D.ops.length, blocks: D.blocks.length, view: view, zoom: zoom,
    locate: function (i) { var o = D.ops[i]; scroll.scrollTop = Math.max(0, tops[o[0]] - AXIS); draw(); var r = cv.getBoundingClientRect();
      return { x: r.left + xOf(o[2] + o[3] / 2), y: r.top + tops[o[0]] - scroll.scrollTop + 10 + PAD + o[1] * ROW + ROW / 2 }; } };
})();
`;
