CREATE TYPE "public"."email_token_purpose" AS ENUM('verify', 'change');--> statement-breakpoint
ALTER TYPE "public"."audit_action" ADD VALUE 'email.verification_sent';--> statement-breakpoint
ALTER TYPE "public"."audit_action" ADD VALUE 'email.verified';--> statement-breakpoint
ALTER TYPE "public"."audit_action" ADD VALUE 'email.change_requested';--> statement-breakpoint
ALTER TYPE "public"."audit_action" ADD VALUE 'email.changed';--> statement-breakpoint
CREATE TABLE "email_verification_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"user_id" integer NOT NULL,
	"purpose" "email_token_purpose" NOT NULL,
	"email" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "email_verified" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "mail_language" text;--> statement-breakpoint
ALTER TABLE "email_verification_tokens" ADD CONSTRAINT "email_verification_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "email_verification_tokens_user_purpose_idx" ON "email_verification_tokens" USING btree ("user_id","purpose");