import { describe, expect, it } from "vitest";
import { isPostgresWriteAfterClose } from "../../src/node/postgres-known-bug";

describe("the postgres.js write-after-close error the Node entry tolerates", () => {
  const known = () => {
    const error = new TypeError("Cannot read properties of null (reading 'write')");
    error.stack = `${error.message}\n    at Immediate.nextWrite (node_modules/postgres/src/connection.js:255:22)`;
    return error;
  };

  it("is recognised, also once serialized (as vitest hands it over)", () => {
    expect(isPostgresWriteAfterClose(known())).toBe(true);
    const { name, message, stack } = known();
    expect(isPostgresWriteAfterClose({ name, message, stack })).toBe(true);
  });

  it("is told apart from any other error, which still ends the process", () => {
    const elsewhere = new TypeError("Cannot read properties of null (reading 'write')");
    elsewhere.stack = `${elsewhere.message}\n    at ourCode (src/app.ts:1:1)`;
    expect(isPostgresWriteAfterClose(elsewhere)).toBe(false);
    const other = known();
    other.message = "Cannot read properties of undefined (reading 'id')";
    expect(isPostgresWriteAfterClose(other)).toBe(false);
    expect(isPostgresWriteAfterClose(new Error("boom"))).toBe(false);
    expect(isPostgresWriteAfterClose(undefined)).toBe(false);
  });
});
