// Hyperdrive's query cache is on by default (max_age 60 s, stale_while_revalidate 15 s) and
// answers a read-only statement from the cache, keyed by its text and parameters, unless the
// statement uses a function PostgreSQL designates volatile (or stable, in newer versions of
// Cloudflare's "Query caching" page). Every read of this app decides or shows who may do what now
// (the access-token check, the accounts, the listing, the audit log, /ready), so none may be
// answered from a cache, whatever the Hyperdrive configuration says. It is done here, to every
// statement the Worker sends, rather than per query (a marker each new read would have to
// remember) or with a second, uncached binding (every read here would need it): every Worker test
// runs behind a stand-in for the cache that fails on any statement it may cache
// (tests/support/hyperdrive-stand-in.ts).

/** A CTE that calls clock_timestamp(), volatile under either version of the rule. */
const VOLATILE_CTE = "uncached_by_hyperdrive as (select clock_timestamp())";

/**
 * `text` with the volatile CTE in front when it may be a read (it starts with WITH, SELECT,
 * VALUES, TABLE or a parenthesis); other statements write, and writes are never cached. Postgres
 * does not even plan a CTE that nothing references, so this costs nothing, and the text is the
 * same on every call, so prepared statements stay prepared.
 */
export function uncachedByHyperdrive(text: string): string {
  const withList = /^\s*with(\s+recursive)?\s+/i.exec(text);
  if (withList) return `${withList[0]}${VOLATILE_CTE}, ${text.slice(withList[0].length)}`;
  return /^\s*(select|values|table)\b|^\s*\(/i.test(text) ? `with ${VOLATILE_CTE} ${text}` : text;
}
