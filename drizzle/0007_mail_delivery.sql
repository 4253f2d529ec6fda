CREATE TABLE "mail_delivery" (
	"id" smallint PRIMARY KEY DEFAULT 1 NOT NULL,
	"failing" boolean NOT NULL,
	"failures" bigint DEFAULT 0 NOT NULL,
	"last_failure_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	CONSTRAINT "mail_delivery_one_row" CHECK (id = 1)
);
