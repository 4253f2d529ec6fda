import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type NodeTestApi } from "../support/node-api";

let api: NodeTestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(() => api.close());

describe("over-long passwords are refused before any hashing work", () => {
  it("at register", async () => {
    const before = api.fastHasher.hashes;
    const res = await api.send("POST", "/api/user/register", {
      username: "longpw",
      first_name: "Long",
      last_name: "Password",
      email: "longpw@example.com",
      password: "p".repeat(10_000),
    });
    expect(res.status).toBe(400);
    expect(api.fastHasher.hashes).toBe(before);
    expect(await api.userRow("longpw")).toBeUndefined();
  });

  it("at login, for a real account too", async () => {
    const user = await api.createUser();
    const before = api.fastHasher.verifies;
    const res = await api.send("POST", "/api/user/login", {
      username: user.username,
      password: "p".repeat(129),
    });
    expect(res.status).toBe(400);
    expect(api.fastHasher.verifies).toBe(before);
  });
});
