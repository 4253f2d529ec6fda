import type { Context } from "hono";
import type { AppEnv } from "../deps";
import { cursorPosition, signCursor } from "./cursor";

/** What a cursor-paginated listing reads: a page of rows in id order, and whether more follow. */
type Page<Row> = { rows: Row[]; more: boolean };

/**
 * One page of a cursor-paginated listing (GET /api/users, GET /api/audit). The cursor is bound to
 * `scope`, the route and its filters, so one from another query is refused (naming `sameParams`),
 * never misapplied; `read` fetches the page after the position it carries; `next_cursor` signs
 * the id of the page's last row when more follow, else null.
 */
export async function paginatedListing<Row extends { id: number }, P extends Page<Row>>(
  c: Context<AppEnv>,
  query: { scope: unknown[]; cursor: string | undefined; sameParams: string },
  read: (position: number | undefined) => Promise<P>,
): Promise<{ page: P; next_cursor: string | null }> {
  const secret = c.get("deps").config.jwtSecret;
  const scope = JSON.stringify(query.scope);
  const page = await read(cursorPosition(secret, scope, query.cursor, query.sameParams));
  const last = page.rows.at(-1);
  return { page, next_cursor: page.more && last ? signCursor(secret, scope, last.id) : null };
}
