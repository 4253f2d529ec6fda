CREATE TYPE "public"."audit_action" AS ENUM('user.registered', 'login.succeeded', 'login.failed', 'login.throttled', 'refresh.reused', 'logout', 'password_reset.requested', 'password_reset.completed', 'password.changed', 'user.updated', 'user.deleted');--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"at" timestamp with time zone NOT NULL,
	"action" "audit_action" NOT NULL,
	"actor_id" integer,
	"actor_username" text,
	"target_id" integer,
	"target_username" text,
	"ip" text NOT NULL,
	"user_agent" text,
	"fields" text[] DEFAULT '{}'::text[] NOT NULL,
	"detail" text
);
--> statement-breakpoint
CREATE INDEX "audit_log_actor_idx" ON "audit_log" USING btree ("actor_id","id");--> statement-breakpoint
CREATE INDEX "audit_log_target_idx" ON "audit_log" USING btree ("target_id","id");--> statement-breakpoint
CREATE INDEX "audit_log_action_idx" ON "audit_log" USING btree ("action","id");--> statement-breakpoint
CREATE INDEX "audit_log_actor_name_idx" ON "audit_log" USING btree (lower("actor_username"),"id");--> statement-breakpoint
CREATE INDEX "audit_log_target_name_idx" ON "audit_log" USING btree (lower("target_username"),"id");