import postgres from "postgres";

// Hyperdrive's documented caching rules (developers.cloudflare.com/hyperdrive/concepts/
// query-caching): a read-only statement is cached, keyed by its text and parameters, unless it
// uses a function PostgreSQL designates volatile or stable (older versions of the page: only
// volatile). Where Hyperdrive's own parser might see it either way, these rules call a statement
// cacheable: the stand-in must never miss a statement Hyperdrive could cache.

/** Words that make a statement write (or change the session): never cached. */
const MUTATING = new Set([
  "insert",
  "update",
  "delete",
  "merge",
  "create",
  "alter",
  "drop",
  "truncate",
  "grant",
  "revoke",
  "copy",
  "call",
  "do",
  "lock",
  "vacuum",
  "analyze",
  "refresh",
  "cluster",
  "reindex",
  "set",
  "reset",
  "listen",
  "notify",
  "into",
]);

/** SQL's value functions, written without parentheses: all stable (now() under another name). */
const STABLE_KEYWORDS = new Set([
  "current_date",
  "current_time",
  "current_timestamp",
  "localtime",
  "localtimestamp",
  "current_role",
  "current_user",
  "session_user",
  "current_catalog",
  "current_schema",
]);

type Word = { text: string; quoted: boolean; call: boolean };

/** The words of `sql` outside strings and comments, each with whether a `(` follows it. */
function wordsOf(sql: string): Word[] {
  const words: Word[] = [];
  let i = 0;
  const push = (text: string, quoted: boolean) => {
    let j = i;
    while (/\s/.test(sql[j] ?? "")) j++;
    words.push({ text, quoted, call: sql[j] === "(" });
  };
  while (i < sql.length) {
    const c = sql[i] as string;
    if (sql.startsWith("--", i)) {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end;
    } else if (sql.startsWith("/*", i)) {
      let depth = 0;
      do {
        const step = sql.startsWith("/*", i) ? 1 : sql.startsWith("*/", i) ? -1 : 0;
        depth += step;
        i += step === 0 ? 1 : 2;
      } while (depth > 0 && i < sql.length);
    } else if (c === "'") {
      // Backslash escapes only in E'...' strings (standard_conforming_strings is on).
      const escapes = /^[eE]$/.test(sql[i - 1] ?? "") && !/\w/.test(sql[i - 2] ?? "");
      i++;
      while (i < sql.length) {
        if (escapes && sql[i] === "\\") i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      i++;
    } else if (c === '"') {
      let text = "";
      i++;
      while (i < sql.length && !(sql[i] === '"' && sql[i + 1] !== '"')) {
        text += sql[i];
        i += sql[i] === '"' ? 2 : 1;
      }
      i++;
      push(text, true);
    } else if (c === "$") {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        i = end < 0 ? sql.length : end + tag[0].length;
      } else {
        i++;
        while (/[0-9]/.test(sql[i] ?? "")) i++;
      }
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (/[A-Za-z0-9_$]/.test(sql[i] ?? "")) i++;
      push(sql.slice(start, i).toLowerCase(), false);
    } else if (/[0-9]/.test(c)) {
      while (/[A-Za-z0-9_.]/.test(sql[i] ?? "")) i++;
    } else {
      i++;
    }
  }
  return words;
}

/**
 * Whether Hyperdrive's rules let it cache `sql`: a read (SELECT, WITH, VALUES, TABLE, with no
 * writing word; FOR UPDATE and FOR SHARE are reads here) calling none of `uncacheable`'s
 * functions and none of SQL's stable value functions.
 */
export function isCacheable(sql: string, uncacheable: ReadonlySet<string>): boolean {
  const words = wordsOf(sql);
  const first = words[0];
  if (!first || first.quoted || !["select", "with", "values", "table"].includes(first.text)) {
    return false;
  }
  return words.every((word, index) => {
    if (word.quoted) return !(word.call && uncacheable.has(word.text));
    const before = words[index - 1]?.text;
    const lockingClause =
      (word.text === "update" || word.text === "share") && (before === "for" || before === "key");
    if (MUTATING.has(word.text) && !lockingClause) return false;
    if (STABLE_KEYWORDS.has(word.text)) return false;
    return !(word.call && uncacheable.has(word.text));
  });
}

const namesByServer = new Map<string, Promise<ReadonlySet<string>>>();

/**
 * The functions of the server at `databaseUrl` that PostgreSQL designates volatile or stable in
 * every overload (a name that also has an immutable overload may be cached by its name).
 */
export function uncacheableFunctions(databaseUrl: string): Promise<ReadonlySet<string>> {
  let names = namesByServer.get(databaseUrl);
  if (!names) {
    names = (async () => {
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql<{ proname: string }[]>`
          select proname from pg_proc group by proname having bool_and(provolatile <> 'i')`;
        return new Set(rows.map((row) => row.proname));
      } finally {
        await sql.end();
      }
    })();
    namesByServer.set(databaseUrl, names);
  }
  return names;
}
