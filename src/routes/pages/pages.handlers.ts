import type { Context } from "hono";
import type { AppEnv } from "../../deps";
import { notFound } from "../../errors";
import { docPage, resetPasswordPage } from "./pages.markup";

/**
 * Scripts, styles and requests from this origin only, nothing inline: the pages work offline and
 * an injected script could not run. `data:` images are Swagger UI's icons.
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const page = (html: string) => (c: Context<AppEnv>) => {
  c.header("Content-Security-Policy", PAGE_CSP);
  return c.html(html);
};

export const doc = page(docPage);
export const resetPassword = page(resetPasswordPage);

/** A file under /assets/ on Node (on Workers the platform serves them before the app runs). */
export const asset = async (c: Context<AppEnv, "/assets/:name">) => {
  const file = await c.get("deps").assets?.(c.req.param("name"));
  if (!file) throw notFound();
  // Revalidated on every use, as Cloudflare serves static assets: a deploy shows at once.
  c.header("Cache-Control", "public, max-age=0, must-revalidate");
  c.header("ETag", file.etag);
  if (c.req.header("if-none-match") === file.etag) return c.body(null, 304);
  return c.body(file.body, 200, { "Content-Type": file.contentType });
};
