import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import { invalidParameter } from "./validation";

// Pagination cursors: the last id of a page, signed with a key derived from JWT_SECRET_KEY and
// bound to the query it came from (its `scope`). A client cannot forge a position, nor carry a
// cursor over to another query, where "after id N" would silently skip or repeat rows.

const MAC_BYTES = 16;
// A positive integer that a JavaScript number holds exactly (ids are int or bigint columns).
const ID_PATTERN = /^[1-9]\d{0,15}$/;

const keys = new Map<string, Buffer>();
/** A key of its own for cursors, so a cursor's MAC can never stand in for a token's signature. */
const cursorKey = (secret: string) => {
  let key = keys.get(secret);
  if (!key) {
    key = createHmac("sha256", secret).update("pagination cursor v1").digest();
    keys.set(secret, key);
  }
  return key;
};

const mac = (secret: string, scope: string, id: string) =>
  createHmac("sha256", cursorKey(secret)).update(`${scope}\n${id}`).digest().subarray(0, MAC_BYTES);

/** An opaque cursor for "the rows after `id`" in the query described by `scope`. */
export function signCursor(secret: string, scope: string, id: number): string {
  const text = String(id);
  return `${Buffer.from(text).toString("base64url")}.${mac(secret, scope, text).toString("base64url")}`;
}

/** The id a cursor made by `signCursor` for this `scope` carries; undefined for any other text. */
export function readCursor(secret: string, scope: string, cursor: string): number | undefined {
  const [idPart, macPart, ...rest] = cursor.split(".");
  if (idPart === undefined || macPart === undefined || rest.length > 0) return undefined;
  const text = Buffer.from(idPart, "base64url").toString("latin1");
  const given = Buffer.from(macPart, "base64url");
  // Only the canonical encodings: no padding, no second spelling of the same bytes.
  if (Buffer.from(text, "latin1").toString("base64url") !== idPart) return undefined;
  if (given.toString("base64url") !== macPart || given.length !== MAC_BYTES) return undefined;
  if (!ID_PATTERN.test(text) || !timingSafeEqual(given, mac(secret, scope, text))) return undefined;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : undefined;
}

/**
 * The position the `cursor` query parameter of a listing names, undefined without one; a cursor
 * that is not a next_cursor of this very query (its `scope`) is the contract's 400, never a
 * silently misapplied position. `sameParams` names the parameters the query is bound to.
 */
export function cursorPosition(
  secret: string,
  scope: string,
  cursor: string | undefined,
  sameParams: string,
): number | undefined {
  if (cursor === undefined) return undefined;
  const id = readCursor(secret, scope, cursor);
  if (id === undefined) {
    throw invalidParameter("cursor", `is not a next_cursor of this query (same ${sameParams})`);
  }
  return id;
}
