import { createHash } from "node:crypto";
import type { Context } from "hono";
import type { AppEnv } from "../../deps";
import { notFound } from "../../errors";
import { docPage, resetPasswordPage, verifyEmailPage } from "./pages.markup";

const policy = (scriptSrc: string) =>
  `default-src 'none'; script-src ${scriptSrc}; style-src 'self'; img-src 'self' data:; ` +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * Scripts, styles and requests from this origin only, nothing inline: the pages work offline and
 * an injected script could not run. `data:` images are Swagger UI's icons.
 */
export const PAGE_CSP = policy("'self'");

/** The CSP source allowing each inline script of `html` by its SHA-256, and nothing else inline. */
export const inlineScriptSources = (html: string) =>
  [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
    ([, script]) =>
      `'sha256-${createHash("sha256")
        .update(script ?? "")
        .digest("base64")}'`,
  );

/** /doc's: PAGE_CSP, plus @hono/swagger-ui's inline start-up script, allowed by its hash only. */
export const DOC_CSP = policy(["'self'", ...inlineScriptSources(docPage)].join(" "));

const page = (html: string, csp: string) => (c: Context<AppEnv>) => {
  c.header("Content-Security-Policy", csp);
  return c.html(html);
};

export const doc = page(docPage, DOC_CSP);
export const resetPassword = page(resetPasswordPage, PAGE_CSP);
export const verifyEmail = page(verifyEmailPage, PAGE_CSP);

/** Any name under /assets/, slashes included (swagger-ui-dist/…); only listed files are served. */
export const ASSET_PATH = "/assets/:name{.+}";

/** A file under /assets/ on Node (on Workers the platform serves them before the app runs). */
export const asset = async (c: Context<AppEnv, typeof ASSET_PATH>) => {
  const file = await c.get("deps").assets?.(c.req.param("name"));
  if (!file) throw notFound();
  // Revalidated on every use, as Cloudflare serves static assets: a deploy shows at once.
  c.header("Cache-Control", "public, max-age=0, must-revalidate");
  c.header("ETag", file.etag);
  if (c.req.header("if-none-match") === file.etag) return c.body(null, 304);
  return c.body(file.body, 200, { "Content-Type": file.contentType });
};
