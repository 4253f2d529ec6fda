import { eq, inArray } from "drizzle-orm";
import fc from "fast-check";
import { sign } from "hono/jwt";
import type { AccessClaims } from "../../src/auth/jwt";
import { type User, users } from "../../src/db/schema";
import type { ContractApi } from "./contract-api";

// The state a contract fuzzer needs to reach past the front door: a USER and an ADMIN whose
// tokens are valid, the accounts it registered, and the tokens the API handed out.

type Role = User["role"];
type Field = "username" | "email" | "password";

/** A value filled in when the request is sent, from the state at that moment. */
export class Known {
  constructor(
    /** `self` is the request's own account (see Self), so a name and a password go together. */
    readonly source: "self" | "user" | "admin" | "account" | "refresh_token" | "reset_token",
    readonly field: Field = "username",
    readonly pick = 0,
    readonly shout = false,
  ) {}
  [fc.toStringMethod]() {
    const pick = this.source === "self" || this.pick === 0 ? "" : `[${this.pick}]`;
    return `Known(${this.source}${pick}.${this.field}${this.shout ? ", upper case" : ""})`;
  }
}

/** The account a request's `self` values come from: a seeded one or a registered one. */
export type Self = { source: "user" | "admin" | "account"; pick: number };

/** How a request authenticates; resolved into an Authorization header when it is sent. */
export type Auth =
  | { kind: "none" }
  | { kind: "raw"; header: string }
  | {
      kind: "token";
      as: "user" | "admin";
      variant: "valid" | "lowercase" | "expired" | "other-key";
    };

type Identity = { row: User; password: string };

/** The seeded USER and ADMIN, kept valid between requests, and the pools of harvested values. */
export async function fuzzWorld(api: ContractApi) {
  const seed = async (role: Role) => {
    const account = await api.createUser({ role });
    const row = await api.userRow(account.username);
    if (!row) throw new Error(`seeded ${role} is missing`);
    return { row, password: account.password };
  };
  const identities: Record<"user" | "admin", Identity> = {
    user: await seed("USER"),
    admin: await seed("ADMIN"),
  };
  const pools = {
    account: [] as { username: string; email: string; password: string }[],
    refresh_token: [] as string[],
    reset_token: [] as string[],
  };
  const tokens = new Map<string, string>();

  /**
   * Puts the seeded accounts back as they were when a fuzzed request changed them (an admin may
   * rename, demote, deactivate or delete them), so that "a valid token" stays one.
   */
  async function restore() {
    const all = Object.values(identities);
    const rows = await api.db
      .select()
      .from(users)
      .where(
        inArray(
          users.id,
          all.map((i) => i.row.id),
        ),
      );
    for (const identity of all) {
      const { id, username, email, passwordHash, role, tokenVersion } = identity.row;
      const now = rows.find((r) => r.id === id);
      if (!now) {
        const { id: _, ...rest } = identity.row;
        const [again] = await api.db.insert(users).values(rest).returning();
        identity.row = again as User;
      } else if (
        now.username !== username ||
        now.email !== email ||
        now.passwordHash !== passwordHash ||
        now.role !== role ||
        !now.active
      ) {
        const same = { username, email, passwordHash, role, active: true };
        await api.db.update(users).set(same).where(eq(users.id, id));
        identity.row = { ...now, ...same };
      } else if (now.tokenVersion !== tokenVersion) {
        identity.row = now;
      }
    }
  }

  /** An access token of the seeded account, signed with the test secret like the API signs. */
  async function tokenOf(who: "user" | "admin", variant: "valid" | "expired" | "other-key") {
    const { row } = identities[who];
    const key = `${row.id}:${row.tokenVersion}:${variant}`;
    let token = tokens.get(key);
    if (!token) {
      // After both the Node tests' fixed clock and the Worker's real one.
      const now = Math.floor(Math.max(Date.now(), Date.parse("2026-01-01")) / 1000);
      const exp = variant === "expired" ? 1_000_000 : now + 86_400;
      const claims: AccessClaims = {
        sub: String(row.id),
        role: row.role,
        ver: row.tokenVersion,
        iat: exp - 86_400 * 2,
        exp,
        jti: crypto.randomUUID(),
      };
      const secret = variant === "other-key" ? `${api.jwtSecret}-other` : api.jwtSecret;
      token = await sign(claims, secret, "HS256");
      tokens.set(key, token);
    }
    return token;
  }

  async function authorization(auth: Auth): Promise<string | undefined> {
    if (auth.kind === "none") return undefined;
    if (auth.kind === "raw") return auth.header;
    const scheme = auth.variant === "lowercase" ? "bearer" : "Bearer";
    const variant = auth.variant === "lowercase" ? "valid" : auth.variant;
    return `${scheme} ${await tokenOf(auth.as, variant)}`;
  }

  /** What `k` stands for now. */
  function known(k: Known, self: Self): string {
    if (k.source === "self")
      return known(new Known(self.source, k.field, self.pick, k.shout), self);
    if (k.source === "user" || k.source === "admin") {
      const { row, password } = identities[k.source];
      const value = k.field === "password" ? password : row[k.field];
      return k.shout ? value.toUpperCase() : value;
    }
    const pool = pools[k.source];
    const picked = pool[k.pick % Math.max(1, pool.length)];
    if (picked === undefined) return `no-${k.source}-yet`;
    const value = typeof picked === "string" ? picked : picked[k.field];
    return k.shout ? value.toUpperCase() : value;
  }

  /** Keeps what a response handed out (tokens, a registered account) for later requests. */
  function harvest(sent: unknown, status: number, received: unknown) {
    const r = (received ?? {}) as Record<string, unknown>;
    if (typeof r.refresh_token === "string") pools.refresh_token.push(r.refresh_token);
    if (typeof r.token === "string") pools.reset_token.push(r.token);
    const s = (sent ?? {}) as Record<string, unknown>;
    if (status === 201 && typeof s.username === "string" && typeof s.password === "string") {
      pools.account.push({ username: s.username, email: String(s.email), password: s.password });
    }
  }

  // A session and a reset link to start from, so refresh and reset_password get past "unknown"
  // even when fuzzed alone.
  for (const { row, password } of Object.values(identities)) {
    const login = await api.send("POST", "/api/user/login", { username: row.username, password });
    harvest(undefined, login.status, await login.json());
  }
  const { username, email } = identities.user.row;
  const reset = await api.send("POST", "/api/user/forget_password", { username, email });
  harvest(undefined, reset.status, await reset.json());

  return { restore, authorization, known, harvest, pools };
}

export type FuzzWorld = Awaited<ReturnType<typeof fuzzWorld>>;
