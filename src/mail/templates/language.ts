import { DEFAULT_LANGUAGE } from "./template-set";

/** At most this many ranges of a header are looked at: enough for any browser's list. */
const MAX_RANGES = 20;

/**
 * The language ranges of an Accept-Language value (RFC 9110 §12.5.4), best first: lower-cased,
 * q=0 dropped, ties kept in the order written. Anything malformed is skipped, not an error.
 */
export function languageRanges(value: string | null | undefined): string[] {
  if (!value) return [];
  const ranges: { range: string; q: number; order: number }[] = [];
  for (const [order, item] of value.split(",").slice(0, MAX_RANGES).entries()) {
    const [range = "", ...params] = item.split(";").map((s) => s.trim().toLowerCase());
    if (!/^(\*|[a-z]{1,8}(-[a-z0-9]{1,8})*)$/.test(range)) continue;
    let q = 1;
    for (const param of params) {
      const weight = /^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$/.exec(param);
      q = weight ? Number(weight[1]) : Number.NaN;
    }
    if (Number.isNaN(q) || q === 0) continue;
    ranges.push({ range, q, order });
  }
  return ranges.sort((a, b) => b.q - a.q || a.order - b.order).map((r) => r.range);
}

/**
 * The first of `ranges` that one of `available` serves, by RFC 4647 lookup: `de-ch` takes `de-ch`,
 * else `de`; `*` takes the default. Undefined when none does.
 */
export function lookupLanguage(
  ranges: readonly string[],
  available: ReadonlySet<string>,
): string | undefined {
  for (const range of ranges) {
    if (range === "*") return DEFAULT_LANGUAGE;
    const subtags = range.split("-");
    while (subtags.length > 0) {
      const candidate = subtags.join("-");
      if (available.has(candidate)) return candidate;
      subtags.pop();
    }
  }
  return undefined;
}

/**
 * The language to write in: the account's stored preference when a template serves it, else the
 * request's Accept-Language, else English.
 */
export function pickLanguage(
  available: ReadonlySet<string>,
  accountLanguage: string | null | undefined,
  acceptLanguage: string | null | undefined,
): string {
  return (
    lookupLanguage(languageRanges(accountLanguage), available) ??
    lookupLanguage(languageRanges(acceptLanguage), available) ??
    DEFAULT_LANGUAGE
  );
}
