-- Keep only each account's newest token (issuing already voided the older ones, but a race could leave two).
DELETE FROM "password_reset_tokens" AS "older" USING "password_reset_tokens" AS "newer" WHERE "newer"."user_id" = "older"."user_id" AND ("newer"."created_at", "newer"."token_hash") > ("older"."created_at", "older"."token_hash");--> statement-breakpoint
DROP INDEX "password_reset_tokens_user_idx";--> statement-breakpoint
CREATE UNIQUE INDEX "password_reset_tokens_user_idx" ON "password_reset_tokens" USING btree ("user_id");
