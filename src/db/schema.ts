import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  pgEnum,
  pgTable,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

export const roleEnum = pgEnum("role", ["USER", "ADMIN"]);

export const users = pgTable(
  "users",
  {
    id: integer("id").primaryKey().generatedAlwaysAsIdentity(),
    username: text("username").notNull(),
    email: text("email").notNull(),
    firstName: text("first_name").notNull(),
    lastName: text("last_name").notNull(),
    passwordHash: text("password_hash").notNull(),
    role: roleEnum("role").notNull().default("USER"),
    active: boolean("active").notNull().default(true),
    // Whether the account proved it owns `email` (a verification link, or a password reset).
    emailVerified: boolean("email_verified").notNull().default(false),
    // The registering request's Accept-Language (capped): the language of mail that someone else
    // causes (an ADMIN's email change), when there is no request of the account's own to go by.
    mailLanguage: text("mail_language"),
    // Bumped whenever a change must revoke the account's access tokens (claim `ver`).
    tokenVersion: integer("token_version").notNull().default(0),
    // A confirmed second factor (mfa_factors) asks every login for a code; read with the account,
    // so the public user and the login need no join.
    mfaEnabled: boolean("mfa_enabled").notNull().default(false),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
    // What the admin search matches: username, email and names lower-cased once, on write, and
    // joined by U+001F (chr(31)), a control character that neither a field nor a search may hold, so no
    // match spans two fields. Matching one stored text per row keeps a search that matches
    // most rows (its total counts them all) fast: four ILIKEs per row cost about 7 times more.
    searchText: text("search_text")
      .notNull()
      .generatedAlwaysAs(
        sql`lower(username || chr(31) || email || chr(31) || first_name || chr(31) || last_name)`,
      ),
  },
  (t) => [
    // Case-insensitive uniqueness without the citext extension; lookups use the same expressions.
    uniqueIndex("users_username_lower_idx").on(sql`lower(${t.username})`),
    uniqueIndex("users_email_lower_idx").on(sql`lower(${t.email})`),
    // A trigram index (pg_trgm) serves the search's LIKE '%…%'; the extension comes with it in
    // drizzle/0003_user_search.sql. A search reads the index's whole pending list of entries not
    // yet merged: 64 kB keeps that to a few pages (after bulk inserts, the default 4 MB made a
    // search much slower: bench/user-search.ts, bench/results/user-search.md).
    index("users_search_trgm_idx")
      .using("gin", t.searchText.op("gin_trgm_ops"))
      .with({ gin_pending_list_limit: 64 }),
    // The few ADMINs, in id order: the listing's role=ADMIN needs no pass over every account.
    index("users_admin_idx").on(t.id).where(sql`role = 'ADMIN'`),
  ],
);

export const passwordResetTokens = pgTable(
  "password_reset_tokens",
  {
    // SHA-256 (hex) of the token; the token itself is never stored.
    tokenHash: text("token_hash").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
  },
  // One token per account: issuing replaces it, which is what voids the older link.
  (t) => [uniqueIndex("password_reset_tokens_user_idx").on(t.userId)],
);

/** What an email link proves: the current address (`verify`) or a new one (`change`). */
export const emailTokenPurposes = ["verify", "change"] as const;
export const emailTokenPurposeEnum = pgEnum("email_token_purpose", emailTokenPurposes);

export const emailVerificationTokens = pgTable(
  "email_verification_tokens",
  {
    // SHA-256 (hex) of the token; the token itself is never stored.
    tokenHash: text("token_hash").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: emailTokenPurposeEnum("purpose").notNull(),
    // The address the link was mailed to: the one it proves (verify) or becomes (change).
    email: text("email").notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
  },
  // One live link per account and purpose: issuing replaces it, which voids the older link.
  (t) => [uniqueIndex("email_verification_tokens_user_purpose_idx").on(t.userId, t.purpose)],
);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;

/** One login = one session (a refresh-token family). */
export const sessions = pgTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    // The account's token version at login: bumping it (password, role, activity…) ends the session.
    tokenVersion: integer("token_version").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date" }),
    // The session's last use: its login, then each refresh. Not each authenticated request, whose
    // check stays one read (findTokenHolder); an access token lives ACCESS_TOKEN_TTL at most.
    lastUsedAt: timestamp("last_used_at", { withTimezone: true, mode: "date" }).notNull(),
    // Where that last use came from, as the audit log keeps them (src/http/occasion.ts): the
    // client address and User-Agent. Null: none sent, or a session older than these columns
    // whose login the audit log did not record (drizzle/0006_session_list.sql).
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    // SHA-256 (hex) of the opaque token.
    tokenHash: text("token_hash").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
    consumedAt: timestamp("consumed_at", { withTimezone: true, mode: "date" }),
  },
  (t) => [index("refresh_tokens_session_idx").on(t.sessionId)],
);

/** Fixed-window request counters (per client IP and route), shared by every instance. */
export const rateLimits = pgTable("rate_limits", {
  key: text("key").primaryKey(),
  windowStart: timestamp("window_start", { withTimezone: true, mode: "date" }).notNull(),
  count: integer("count").notNull(),
});

/** Consecutive failed logins per account (or per unknown login name) and the lockout they earned. */
export const loginThrottles = pgTable("login_throttles", {
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  lockedUntil: timestamp("locked_until", { withTimezone: true, mode: "date" }),
  updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
});

/**
 * How mail has been going, shared by every Node instance and Worker isolate (one row, id 1): the
 * background sends record failures here, and /ready shows it (src/mail/delivery.store.ts).
 */
export const mailDelivery = pgTable(
  "mail_delivery",
  {
    id: smallint("id").primaryKey().default(1),
    // Whether the last recorded send failed.
    failing: boolean("failing").notNull(),
    failures: bigint("failures", { mode: "number" }).notNull().default(0),
    lastFailureAt: timestamp("last_failure_at", { withTimezone: true, mode: "date" }),
    lastSuccessAt: timestamp("last_success_at", { withTimezone: true, mode: "date" }),
  },
  () => [check("mail_delivery_one_row", sql`id = 1`)],
);

/**
 * An account's TOTP secret (RFC 6238), pending until a first code confirms it (users.mfa_enabled),
 * encrypted with AES-256-GCM (src/mfa/secret-box.ts): never stored in the clear.
 */
export const mfaFactors = pgTable("mfa_factors", {
  userId: integer("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  // base64url of IV || ciphertext || tag; the account id is the additional data.
  secretCiphertext: text("secret_ciphertext").notNull(),
  // Which MFA encryption key sealed it (the first 8 hex digits of its SHA-256), for rotation.
  keyId: text("key_id").notNull(),
  // The last 30 s step a code was accepted for: a code of that step or an older one is refused.
  lastUsedStep: bigint("last_used_step", { mode: "number" }),
  createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
});

/** Single-use backup codes of an enabled factor, as SHA-256 hex; using one deletes it. */
export const mfaBackupCodes = pgTable(
  "mfa_backup_codes",
  {
    codeHash: text("code_hash").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
  },
  (t) => [index("mfa_backup_codes_user_idx").on(t.userId)],
);

/**
 * The second step of a login with a factor: an opaque token (stored as SHA-256 hex) bound to the
 * account, its token version at the password check and the login name that check counted under.
 */
export const mfaChallenges = pgTable(
  "mfa_challenges",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: integer("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    tokenVersion: integer("token_version").notNull(),
    login: text("login").notNull(),
    failures: integer("failures").notNull().default(0),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
  },
  (t) => [index("mfa_challenges_user_idx").on(t.userId)],
);

/** What the audit log records, by name (docs/api.md, the audit log). */
export const auditActions = [
  "user.registered",
  "login.succeeded",
  "login.failed",
  "login.throttled",
  "refresh.reused",
  "logout",
  "password_reset.requested",
  "password_reset.completed",
  "password.changed",
  "user.updated",
  "user.deleted",
  "mfa.enabled",
  "mfa.disabled",
  "mfa.backup_codes_regenerated",
  "login.mfa_failed",
  "email.verification_sent",
  "email.verified",
  "email.change_requested",
  "email.changed",
] as const;
export const auditActionEnum = pgEnum("audit_action", auditActions);

/**
 * The audit log: one row per event, written in the statement (or transaction) of the change it
 * records, never updated or deleted (a trigger refuses both; drizzle/0005_audit_log_append_only.sql).
 * Accounts are named by id and by the username they had then, without foreign keys, so an entry
 * outlives the account it names. No password, hash, token or request body is ever stored.
 */
export const auditLog = pgTable(
  "audit_log",
  {
    // bigint: a login flood writes a row per attempt, and 2^31 of them is only weeks at 1,000/s.
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    at: timestamp("at", { withTimezone: true, mode: "date" }).notNull(),
    action: auditActionEnum("action").notNull(),
    // Who acted: the signed-in account, or the one a login, logout or reset proved itself as;
    // null when nobody did (a login with an unknown name, a reset request, a reused refresh token).
    actorId: integer("actor_id"),
    actorUsername: text("actor_username"),
    // The account acted on; null when none is known (a login with an unknown name).
    targetId: integer("target_id"),
    targetUsername: text("target_username"),
    ip: text("ip").notNull(),
    userAgent: text("user_agent"),
    // The names of the changed fields (API names: first_name, password…), never their values.
    fields: text("fields").array().notNull().default(sql`'{}'::text[]`),
    // A short word saying why, for the entries with more than one cause (login.failed: "password",
    // "unknown_account", "deactivated"; logout: "session" or "all"; login.succeeded: "totp" or
    // "backup_code" when a second factor was used; mfa.disabled: "self" or "admin").
    detail: text("detail"),
  },
  (t) => [
    index("audit_log_actor_idx").on(t.actorId, t.id),
    index("audit_log_target_idx").on(t.targetId, t.id),
    index("audit_log_action_idx").on(t.action, t.id),
    index("audit_log_actor_name_idx").on(sql`lower(${t.actorUsername})`, t.id),
    index("audit_log_target_name_idx").on(sql`lower(${t.targetUsername})`, t.id),
  ],
);

export type AuditEntry = typeof auditLog.$inferSelect;
