import { z } from "@hono/zod-openapi";
import { hashPassword } from "../src/auth/password";
import { passwordProblem } from "../src/auth/password-policy";
import { randomToken } from "../src/auth/tokens";
import { nodeArgon2 } from "../src/node/argon2";
import { loadConfigOrExit } from "../src/node/config";
import { openDatabaseOrExit } from "../src/node/database";
import { loadEnvFile } from "../src/node/env-file";
import { emailField, passwordField, usernameField } from "../src/users/user.fields";
import { findByEmail, findByUsername, insertUser } from "../src/users/user.store";

// The original default_data.py: make sure an ADMIN exists. Safe to run again: an existing
// account is left exactly as it is.
loadEnvFile();
const input = z
  .object({
    ADMIN_USERNAME: usernameField.default("admin"),
    ADMIN_EMAIL: emailField.default("admin@example.com"),
    ADMIN_PASSWORD: passwordField.optional(),
  })
  .safeParse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== "")));
if (!input.success) {
  for (const issue of input.error.issues)
    console.error(`${issue.path.join(".")}: ${issue.message}`);
  process.exit(1);
}
const { ADMIN_USERNAME: username, ADMIN_EMAIL: email } = input.data;
// The same policy as every other way of setting a password.
const problem =
  input.data.ADMIN_PASSWORD && passwordProblem(input.data.ADMIN_PASSWORD, { username, email });
if (problem) {
  console.error(`ADMIN_PASSWORD: ${problem}`);
  process.exit(1);
}

const config = loadConfigOrExit(process.env, { warn: false });
const database = await openDatabaseOrExit(config);
try {
  const existing = await findByUsername(database.db, username);
  if (existing) {
    const note =
      existing.role === "ADMIN" ? "" : ` (its role is ${existing.role}; nothing changed)`;
    console.log(`Account "${existing.username}" already exists${note}.`);
  } else {
    const generated = input.data.ADMIN_PASSWORD === undefined;
    const password = input.data.ADMIN_PASSWORD ?? randomToken();
    const now = new Date();
    // A concurrent seed (or a user who took the email) wins; report instead of failing.
    const admin = {
      username,
      email,
      firstName: "Admin",
      lastName: "User",
      passwordHash: await hashPassword(nodeArgon2, password),
      role: "ADMIN" as const,
      // Whoever runs the script vouches for the address.
      emailVerified: true,
      createdAt: now,
      updatedAt: now,
    };
    // Recorded as a registration from this machine, by this script.
    const source = { at: now, ip: "local", userAgent: "npm run db:seed-admin" };
    const created = await insertUser(database.db, admin, source, { detail: "seed_admin" });
    if (created === "taken") {
      const clash = await findByEmail(database.db, email);
      console.error(
        `Not created: ${clash ? `email already used by "${clash.username}"` : "username taken"}.`,
      );
      process.exitCode = 1;
    } else {
      console.log(`Created ADMIN "${username}" <${email}>.`);
      if (generated) console.log(`Generated password (shown once, store it now): ${password}`);
    }
  }
} catch (error) {
  const table = missingTable(error);
  if (table === undefined) throw error;
  // A fresh DATABASE_URL (the embedded database migrates itself): one line, not a stack trace.
  console.error(`The database has no ${table} table: run npm run db:migrate first.`);
  process.exitCode = 1;
} finally {
  await database.close();
}

/** The table a query found missing (Postgres 42P01, under Drizzle's wrapper), if that is why. */
function missingTable(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause?.code !== "42P01") return undefined;
  return /relation "([^"]+)"/.exec(String(cause.message))?.[1] ?? "expected";
}
