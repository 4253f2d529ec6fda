import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectUnauthorized } from "../support/auth-helpers";
import { type ContractApi, startApi } from "../support/contract-api";

// The verifier remembers tokens that verified lately (src/auth/jwt.ts), so a client's next
// requests skip the HMAC. What it remembers must be the whole token: a cached token's header and
// payload under any other signature is a forgery, however often the real token was used.

let api: ContractApi;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

const base64url = (bytes: ArrayBuffer) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

/** The HS256 signature of `signingInput` under `secret`, computed apart from the code under test. */
async function hs256(signingInput: string, secret: string) {
  const raw = new TextEncoder().encode(secret);
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return base64url(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(signingInput)));
}

const getMe = (token: string) => api.send("GET", "/api/me", undefined, token);

describe("a token the server has already verified, re-signed", () => {
  it("is refused under any other signature, while the real one still works", async () => {
    const user = await api.signedIn();
    // Used twice: verified once, then answered from whatever the server remembers.
    expect((await getMe(user.token)).status).toBe(200);
    expect((await getMe(user.token)).status).toBe(200);

    const [header, payload, signature = ""] = user.token.split(".");
    const signingInput = `${header}.${payload}`;
    // Same length as the real one, so only the comparison itself can tell them apart.
    const flipped = `${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`;
    const forgeries = {
      "signed with another key": `${signingInput}.${await hs256(signingInput, `${api.jwtSecret}-not`)}`,
      "one character of the signature changed": `${signingInput}.${flipped}`,
      "no signature": `${signingInput}.`,
    };
    for (const [name, forged] of Object.entries(forgeries)) {
      const res = await getMe(forged);
      expect(res.status, name).toBe(401);
      await expectUnauthorized(res);
    }
    // The forgeries left the real token as it was.
    expect((await getMe(user.token)).status).toBe(200);
  });

  it("changes nothing when a forged token asks for a write", async () => {
    const user = await api.signedIn();
    expect((await getMe(user.token)).status).toBe(200);
    const [header, payload] = user.token.split(".");
    const forged = `${header}.${payload}.${await hs256(`${header}.${payload}`, "attacker-key")}`;
    const res = await api.send("PATCH", "/api/me", { first_name: "Forged" }, forged);
    await expectUnauthorized(res);
    expect((await api.userRow(user.username))?.firstName).toBe("Test");
  });
});
