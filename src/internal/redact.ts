/**
 * URLs made safe to print in names of ops (run-info, stats, channels, traces), following
 * OpenTelemetry's `url.full` rule: userinfo always reads `REDACTED:REDACTED@`, and every
 * query (and fragment) value reads `REDACTED` unless `config.keepQueryValues`; keys stay.
 * Limit: it sees only the URL it is given; a secret in a path segment is left as it is.
 */
import { config } from './config.js';

const MARK = 'REDACTED';

/** `key=value&flag` → `key=REDACTED&flag` (a key without a value has nothing to hide). */
function redactPairs(s: string): string {
  let out = '';
  let i = 0;
  while (i <= s.length) {
    let amp = s.indexOf('&', i);
    if (amp < 0) amp = s.length;
    const pair = s.slice(i, amp);
    const eq = pair.indexOf('=');
    out += eq < 0 || eq === pair.length - 1 ? pair : `${pair.slice(0, eq + 1)}${MARK}`;
    if (amp < s.length) out += '&';
    i = amp + 1;
  }
  return out;
}

/**
 * `http://alice:hunter2@host:8080/p?api_key=SECRET#t=1` →
 * `http://REDACTED:REDACTED@host:8080/p?api_key=REDACTED#t=REDACTED`. Works on absolute
 * URLs and on bare paths (`/p?token=x`); anything else comes back unchanged.
 * @example
 * redactUrl('https://u:p@example.com/?q=1'); // 'https://REDACTED:REDACTED@example.com/?q=REDACTED'
 */
export function redactUrl(url: string): string {
  const at = url.indexOf('@');
  const q = url.indexOf('?');
  const hash = url.indexOf('#');
  if (at < 0 && q < 0 && hash < 0) return url; // the common case costs three scans
  let out = url;
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.exec(url);
  if (scheme !== null && at >= 0) {
    const start = scheme[0].length;
    let end = url.slice(start).search(/[/?#]/);
    end = end < 0 ? url.length : start + end;
    const userEnd = url.lastIndexOf('@', end - 1);
    if (userEnd >= start) out = `${url.slice(0, start)}${MARK}:${MARK}@${url.slice(userEnd + 1)}`;
  }
  if (config.keepQueryValues) return out;
  const qi = out.indexOf('?');
  const hi = out.indexOf('#');
  if (qi >= 0 && (hi < 0 || qi < hi)) {
    const qEnd = hi < 0 ? out.length : hi;
    out = `${out.slice(0, qi + 1)}${redactPairs(out.slice(qi + 1, qEnd))}${out.slice(qEnd)}`;
  }
  const h = out.indexOf('#');
  if (h >= 0 && out.indexOf('=', h) > h) out = `${out.slice(0, h + 1)}${redactPairs(out.slice(h + 1))}`;
  return out;
}
