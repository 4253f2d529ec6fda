-- Written by hand around drizzle-kit's three ADD COLUMNs: last_used_at is added without NOT NULL,
-- filled for the sessions that exist, then made NOT NULL.
ALTER TABLE "sessions" ADD COLUMN "last_used_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "ip" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "user_agent" text;--> statement-breakpoint
-- Hand-written: a session was last used when its newest refresh token was issued (each refresh
-- issues one), else at its login.
UPDATE "sessions" AS "s" SET "last_used_at" = coalesce(
  (SELECT max("t"."created_at") FROM "refresh_tokens" AS "t" WHERE "t"."session_id" = "s"."id"),
  "s"."created_at");--> statement-breakpoint
ALTER TABLE "sessions" ALTER COLUMN "last_used_at" SET NOT NULL;--> statement-breakpoint
-- Hand-written: a session that can still be listed gets the address and User-Agent of the request
-- that started it, from the audit entry written in the same statement, at the same time (a login,
-- or a password change's fresh session). Refreshes wrote no entry, so this is the login's even
-- when last_used_at is a later refresh's; without an entry (older than the audit log) both stay
-- null, which the listing shows as unknown.
UPDATE "sessions" AS "s" SET ("ip", "user_agent") = (
  SELECT "a"."ip", "a"."user_agent" FROM "audit_log" AS "a"
  WHERE "a"."target_id" = "s"."user_id" AND "a"."at" = "s"."created_at"
    AND "a"."action" IN ('login.succeeded', 'password.changed')
  ORDER BY "a"."id" LIMIT 1)
WHERE "s"."revoked_at" IS NULL;
