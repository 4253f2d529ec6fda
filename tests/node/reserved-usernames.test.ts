import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { RESERVED_USERNAMES, usernameField } from "../../src/users/user.fields";

// /api/user/{username} shares its prefix with fixed routes (/api/user/login…): a username equal
// to one of their words could never be read, updated or deleted there (the fixed route owns the
// path, src/middleware/allowed-methods.ts). The words are checked against the app's own route
// table, so a route added under /api/user/ cannot forget to reserve its word.

const app = createApp(() => {
  throw new Error("no request is served here");
});

/** The fixed words right after /api/user/ in the route table. */
const routeWords = [
  ...new Set(
    app.routes
      .map((route) => /^\/api\/user\/([^/:]+)/.exec(route.path)?.[1])
      .filter((word): word is string => word !== undefined),
  ),
];

describe("reserved usernames", () => {
  it("include every fixed word of the route table under /api/user/", () => {
    expect(routeWords).toContain("login");
    expect(routeWords.filter((word) => !RESERVED_USERNAMES.has(word.toLowerCase()))).toEqual([]);
  });

  it("are refused as usernames, in any case", () => {
    for (const word of routeWords) {
      expect(usernameField.safeParse(word).success, word).toBe(false);
      expect(usernameField.safeParse(word.toUpperCase()).success, word).toBe(false);
    }
  });
});
