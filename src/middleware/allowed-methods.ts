import { createMiddleware } from "hono/factory";
import { matchedRoutes } from "hono/route";
import { METHOD_NAME_ALL } from "hono/router";
import { TrieRouter } from "hono/router/trie-router";
import type { RouterRoute } from "hono/types";
import { methodNotAllowed } from "../errors";

const ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** How many fixed segments a route path has: /api/user/login 3, /api/user/:username 2. */
const fixedSegments = (path: string) =>
  path.split("/").filter((s) => s !== "" && !s.startsWith(":") && !s.includes("*")).length;

/** Whether one request path could match both route paths (`*` and `{…}` count as anything). */
function mayOverlap(a: string, b: string) {
  if (/[*{]/.test(a) || /[*{]/.test(b)) return true;
  const [x, y] = [a.split("/"), b.split("/")];
  return (
    x.length === y.length &&
    x.every((s, i) => s === y[i] || s.startsWith(":") || y[i]?.startsWith(":"))
  );
}

/**
 * For a request path, the methods its routes answer; undefined when there is nothing to refuse
 * (no route has the path, or the route Hono matched answers the request's method). The answer
 * for a request whose method a route already matched is mostly known without matching the path
 * again (`endpoint`, the route path Hono matched): the path of a route with no parameter is
 * looked up whole, and a parameter route that no other parameter route with more fixed segments
 * may overlap answers its own method. Only the rest (wrong methods, unknown paths, and routes
 * that may be outranked) match the request path against the whole table (the trie was a few per
 * cent of an authenticated read).
 */
function methodsByPath(routes: readonly RouterRoute[]) {
  const methods = new Map<string, Set<string>>();
  for (const { method, path } of routes) {
    // Middleware (method ALL) is no route of its own.
    if (method !== METHOD_NAME_ALL) methods.set(path, (methods.get(path) ?? new Set()).add(method));
  }
  // A trie: Hono's RegExpRouter refuses a fixed and a parameter path under the same method.
  const router = new TrieRouter<string>();
  for (const path of methods.keys()) router.add(METHOD_NAME_ALL, path, path);

  const allowedFor = (paths: string[]) => {
    const most = Math.max(...paths.map(fixedSegments));
    const allowed = new Set(
      paths.filter((p) => fixedSegments(p) === most).flatMap((p) => [...(methods.get(p) ?? [])]),
    );
    // Hono answers HEAD with the GET route.
    if (allowed.has("GET")) allowed.add("HEAD");
    return ORDER.filter((m) => allowed.has(m));
  };
  // By the route paths a request path matched: as few as the combinations the route table has.
  const known = new Map<string, string[]>();
  const paths = [...methods.keys()];
  const fixed = new Map(paths.filter((p) => !/[:*{]/.test(p)).map((p) => [p, allowedFor([p])]));
  const unrivalled = new Set(
    paths.filter(
      (p) =>
        !fixed.has(p) &&
        !paths.some(
          (q) => !fixed.has(q) && fixedSegments(q) > fixedSegments(p) && mayOverlap(p, q),
        ),
    ),
  );
  return (requestPath: string, endpoint: string | undefined): string[] | undefined => {
    const exact = fixed.get(requestPath);
    if (exact) return exact;
    if (endpoint !== undefined && unrivalled.has(endpoint)) return undefined;
    const paths = router.match(METHOD_NAME_ALL, requestPath)[0].map(([path]) => path);
    if (paths.length === 0) return undefined;
    const key = paths.join("\n");
    let allowed = known.get(key);
    if (allowed === undefined) {
      allowed = allowedFor(paths);
      known.set(key, allowed);
    }
    return allowed;
  };
}

/**
 * 405 with `Allow` for a known path asked with a method none of its routes has, read from the
 * app's own route table once it is complete. Where a fixed path and a parameter both match
 * (/api/user/login and /api/user/{username}), the fixed route owns the path: route words are
 * reserved usernames, so PUT /api/user/login is a wrong method, not an update of nobody.
 */
export function allowedMethods(app: { routes: readonly RouterRoute[] }) {
  let allowedFor: ReturnType<typeof methodsByPath> | undefined;
  return createMiddleware(async (c, next) => {
    allowedFor ??= methodsByPath(app.routes);
    const endpoint = matchedRoutes(c).find((route) => route.method !== METHOD_NAME_ALL)?.path;
    const allowed = allowedFor(c.req.path, endpoint);
    if (allowed && !allowed.includes(c.req.method)) throw methodNotAllowed(allowed);
    await next();
  });
}
