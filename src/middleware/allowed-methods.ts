import { createMiddleware } from "hono/factory";
import { METHOD_NAME_ALL } from "hono/router";
import { RegExpRouter } from "hono/router/reg-exp-router";
import { SmartRouter } from "hono/router/smart-router";
import { TrieRouter } from "hono/router/trie-router";
import type { RouterRoute } from "hono/types";
import { methodNotAllowed } from "../errors";

const ORDER = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/** How many fixed segments a route path has: /api/user/login 3, /api/user/:username 2. */
const fixedSegments = (path: string) =>
  path.split("/").filter((s) => s !== "" && !s.startsWith(":") && !s.includes("*")).length;

/** For a request path, the methods its routes answer (undefined: no route has the path). */
function methodsByPath(routes: readonly RouterRoute[]) {
  const methods = new Map<string, Set<string>>();
  for (const { method, path } of routes) {
    // Middleware (method ALL) is no route of its own.
    if (method !== METHOD_NAME_ALL) methods.set(path, (methods.get(path) ?? new Set()).add(method));
  }
  // Hono's own choice: one regular expression for all paths, else the trie when a path cannot
  // be one (the trie alone took a few per cent of an authenticated read).
  const router = new SmartRouter<string>({ routers: [new RegExpRouter(), new TrieRouter()] });
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
  return (requestPath: string): string[] | undefined => {
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
    const allowed = allowedFor(c.req.path);
    if (allowed && !allowed.includes(c.req.method)) throw methodNotAllowed(allowed);
    await next();
  });
}
