import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ContractApi, startApi } from "../support/contract-api";

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const body = (username: string, extra: Record<string, unknown> = {}) => ({
  username,
  first_name: "Ada",
  last_name: "Lovelace",
  email: `${username}@example.com`,
  password: "correct horse battery",
  ...extra,
});

describe("POST /api/user/register", () => {
  it("creates an active USER and answers 201", async () => {
    const res = await api.send("POST", "/api/user/register", body("Ada.L"));
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ msg: "User registered successfully." });
    const row = await api.userRow("ada.l");
    expect(row).toMatchObject({ username: "Ada.L", role: "USER", active: true });
    expect(row?.passwordHash).not.toContain("correct horse");
  });

  it("refuses a username taken in another letter case with 409 and creates nothing", async () => {
    await api.send("POST", "/api/user/register", body("grace"));
    const res = await api.send(
      "POST",
      "/api/user/register",
      body("GRACE", { email: "other@example.com" }),
    );
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: "CONFLICT" });
    expect(await api.userRow("grace")).toMatchObject({ username: "grace" });
  });

  it("refuses an email taken in another letter case with 409", async () => {
    await api.send("POST", "/api/user/register", body("hopper"));
    const res = await api.send(
      "POST",
      "/api/user/register",
      body("hopper2", { email: "HOPPER@Example.com" }),
    );
    expect(res.status).toBe(409);
    expect(await api.userRow("hopper2")).toBeUndefined();
  });

  it("lets exactly one of 20 concurrent registrations of one username through", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api.send("POST", "/api/user/register", body("racer", { email: `racer${i}@example.com` })),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
  });

  it.each([
    ["role", { role: "ADMIN" }],
    ["active", { active: false }],
    ["id", { id: 1 }],
  ])("refuses the unknown field %s with 400 (no mass assignment)", async (field, extra) => {
    const res = await api.send("POST", "/api/user/register", body(`mass_${field}`, extra));
    expect(res.status).toBe(400);
    const err = (await res.json()) as { code: string; details: { path: string }[] };
    expect(err.code).toBe("VALIDATION_ERROR");
    expect(err.details.map((d) => d.path)).toContain(field);
    expect(await api.userRow(`mass_${field}`)).toBeUndefined();
  });

  it.each(["me", "LOGIN", "register", "forget_password", "reset_password", "logout", "refresh"])(
    "refuses the reserved username %s",
    async (username) => {
      const res = await api.send("POST", "/api/user/register", body(username));
      expect(res.status).toBe(400);
      expect(await api.userRow(username)).toBeUndefined();
    },
  );

  it.each([
    ["a too-short username", { username: "ab" }, "username"],
    ["a username with a slash", { username: "a/b" }, "username"],
    ["a 51-character username", { username: "x".repeat(51) }, "username"],
    ["an invalid email", { email: "not-an-email" }, "email"],
    ["a blank first name", { first_name: "   " }, "first_name"],
    ["a control character in a name", { last_name: "a\u0007b" }, "last_name"],
    ["a 7-character password", { password: "1234567" }, "password"],
    ["a 129-character password", { password: "p".repeat(129) }, "password"],
  ])("refuses %s with 400 naming the field", async (_label, extra, field) => {
    const res = await api.send("POST", "/api/user/register", body("validcase", extra));
    expect(res.status).toBe(400);
    const err = (await res.json()) as { code: string; details: { path: string }[] };
    expect(err.code).toBe("VALIDATION_ERROR");
    expect(err.details.map((d) => d.path)).toContain(field);
    expect(await api.userRow("validcase")).toBeUndefined();
  });

  it("counts password length in code points and keeps spaces", async () => {
    // 8 emoji are 16 UTF-16 units but 8 characters: allowed.
    const res = await api.send(
      "POST",
      "/api/user/register",
      body("emoji", { password: "🔑".repeat(8) }),
    );
    expect(res.status).toBe(201);
    const login = await api.send("POST", "/api/user/login", {
      username: "emoji",
      password: "🔑".repeat(8),
    });
    expect(login.status).toBe(200);
  });
});
