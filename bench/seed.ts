import { hash } from "@node-rs/argon2";
import type postgres from "postgres";
import { ARGON2_PARAMS } from "../src/auth/password";
import type { MfaKey } from "../src/mfa/mfa-keys";
import { sealSecret } from "../src/mfa/secret-box";

// Algorithm.Argon2id (a const enum in the typings, which isolatedModules cannot inline).
const ARGON2ID = 2;
const argon2id = (password: string) => hash(password, { algorithm: ARGON2ID, ...ARGON2_PARAMS });

/** A seeded account that can log in. */
export type Account = { username: string; email: string; password: string };

export const loginAccount = (i: number): Account => ({
  username: `bench_login_${i}`,
  email: `bench_login_${i}@example.com`,
  password: `bench login password ${i}`,
});

/** Bulk accounts all share one password (one hash reused: hashing 100,000 would take minutes). */
export const BULK_PASSWORD = "bench bulk password";
export const bulkAccount = (n: number): Account => ({
  username: `bench_u${n}`,
  email: `bench_u${n}@example.com`,
  password: BULK_PASSWORD,
});

/** Login accounts, each with its own argon2id hash (the app's parameters) of its own password. */
export async function seedLoginAccounts(sql: postgres.Sql, count: number): Promise<Account[]> {
  const accounts = Array.from({ length: count }, (_, i) => loginAccount(i));
  const hashes = await Promise.all(accounts.map((a) => argon2id(a.password)));
  const rows = accounts.map((a, i) => ({
    username: a.username,
    email: a.email,
    first_name: "Bench",
    last_name: "Login",
    password_hash: hashes[i] as string,
    created_at: new Date(),
    updated_at: new Date(),
  }));
  await sql`INSERT INTO users ${sql(rows)}`;
  return accounts;
}

/** Adds bulk accounts numbered from..to (inclusive) in one statement, then refreshes statistics. */
export async function seedBulkAccounts(sql: postgres.Sql, from: number, to: number) {
  if (to < from) return;
  const shared = await argon2id(BULK_PASSWORD);
  await sql`
    INSERT INTO users (username, email, first_name, last_name, password_hash, created_at, updated_at)
    SELECT 'bench_u' || g, 'bench_u' || g || '@example.com', 'Bench', 'User', ${shared}, now(), now()
    FROM generate_series(${from}::int, ${to}::int) AS g`;
  // Plans for the new size, as autovacuum would do a little later in production.
  await sql`VACUUM ANALYZE users`;
}

/** An account with a confirmed TOTP factor, and its secret (for computing codes). */
export type FactorAccount = Account & { secret: Uint8Array<ArrayBuffer> };

/** The password every factor account shares (one hash: the verify costs the same for each). */
export const FACTOR_PASSWORD = "bench factor password";

/**
 * `count` accounts numbered from `from` with a confirmed factor (users.mfa_enabled, an
 * mfa_factors row of a random secret sealed with `key`, the key the API is given), inserted
 * directly: a W2f login spends its account's code step, so it needs an account of its own.
 */
export async function seedFactorAccounts(
  sql: postgres.Sql,
  key: MfaKey,
  from: number,
  count: number,
): Promise<FactorAccount[]> {
  const shared = await argon2id(FACTOR_PASSWORD);
  const users = Array.from({ length: count }, (_, i) => ({
    username: `bench_mfa_${from + i}`,
    email: `bench_mfa_${from + i}@example.com`,
    first_name: "Bench",
    last_name: "Factor",
    password_hash: shared,
    mfa_enabled: true,
    created_at: new Date(),
    updated_at: new Date(),
  }));
  const ids = await sql<{ id: number; username: string }[]>`
    INSERT INTO users ${sql(users)} RETURNING id, username`;
  const accounts = ids.map(({ id, username }) => ({
    id,
    username,
    email: `${username}@example.com`,
    password: FACTOR_PASSWORD,
    secret: crypto.getRandomValues(new Uint8Array(20)),
  }));
  const factors = await Promise.all(
    accounts.map(async (a) => {
      const sealed = await sealSecret([key], a.id, a.secret);
      return {
        user_id: a.id,
        secret_ciphertext: sealed.ciphertext,
        key_id: sealed.keyId,
        created_at: new Date(),
      };
    }),
  );
  await sql`INSERT INTO mfa_factors ${sql(factors)}`;
  return accounts.map(({ id: _, ...account }) => account);
}

export async function promoteToAdmin(sql: postgres.Sql, username: string) {
  await sql`UPDATE users SET role = 'ADMIN' WHERE username = ${username}`;
}

export async function countUsers(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM users`;
  return row?.n ?? 0;
}
