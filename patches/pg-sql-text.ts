/**
 * The name of a SQL operation (`SELECT pg_sleep($1)`): whitespace folded, literals
 * replaced by `?` (a name must never carry a secret: an inline password, an email), cut
 * to 80 characters; placeholders (`$1`, `?`, `:name`) and identifiers stay. Shared by
 * the pg and mysql2 integrations. Limit: a lexer-free rule; a dollar-quoted PostgreSQL
 * string (`$$...$$`) is kept as it is.
 */

// Single-quoted strings (with '' and \' escapes); double-quoted ones too where they are
// strings (MySQL), not identifiers (PostgreSQL); numbers not part of a name or `$1`.
const SINGLE = /'(?:[^'\\]|\\.|'')*'/g;
const DOUBLE = /"(?:[^"\\]|\\.|"")*"/g;
const NUMBER = /(?<![\w$.:])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w])/g;

const caches = { pg: new Map<string, string>(), mysql: new Map<string, string>() };

/** `text` as an op's name, for `dialect` (where `"..."` is an identifier or a string). */
export function sqlText(text: string, dialect: 'pg' | 'mysql'): string {
  // Most programs run a few statement texts many times: each is folded once.
  const cache = caches[dialect];
  let t = cache.get(text);
  if (t === undefined) {
    t = text.replace(SINGLE, '?');
    if (dialect === 'mysql') t = t.replace(DOUBLE, '?');
    t = t.replace(NUMBER, '?').replace(/\s+/g, ' ').trim();
    if (t.length > 80) t = `${t.slice(0, 79)}…`;
    if (cache.size >= 512) cache.clear();
    cache.set(text, t);
  }
  return t;
}
