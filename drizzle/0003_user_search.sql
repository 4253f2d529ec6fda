-- pg_trgm, for the trigram index below (a trusted extension since PostgreSQL 13: the
-- database owner may create it). Added by hand above what drizzle-kit generated.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "search_text" text GENERATED ALWAYS AS (lower(username || chr(31) || email || chr(31) || first_name || chr(31) || last_name)) STORED NOT NULL;--> statement-breakpoint
CREATE INDEX "users_search_trgm_idx" ON "users" USING gin ("search_text" gin_trgm_ops) WITH (gin_pending_list_limit=64);--> statement-breakpoint
CREATE INDEX "users_admin_idx" ON "users" USING btree ("id") WHERE role = 'ADMIN';