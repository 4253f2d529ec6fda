import { sql } from "drizzle-orm";
import type { Database } from "../db/database";
import { mailDelivery } from "../db/schema";

// How background sends have been going, in one row shared by every instance and isolate: an
// in-memory count would only see its own Worker isolate. Written only by requests that sent mail,
// after their response; read by /ready.

/** What /ready says about mail: `unknown` until a send has been recorded. */
export type MailDeliveryStatus = {
  status: "ok" | "failing" | "unknown";
  failures: number;
  last_failure_at: string | null;
};

/** Counts a failed send and marks mail as failing. */
export async function recordMailFailure(db: Database, at: Date) {
  await db
    .insert(mailDelivery)
    .values({ failing: true, failures: 1, lastFailureAt: at })
    .onConflictDoUpdate({
      target: mailDelivery.id,
      set: {
        failing: true,
        failures: sql`${mailDelivery.failures} + 1`,
        lastFailureAt: sql`excluded.last_failure_at`,
      },
    });
}

/** Marks mail as going out again. */
export async function recordMailSuccess(db: Database, at: Date) {
  await db
    .insert(mailDelivery)
    .values({ failing: false, lastSuccessAt: at })
    .onConflictDoUpdate({
      target: mailDelivery.id,
      set: { failing: false, lastSuccessAt: sql`excluded.last_success_at` },
    });
}

export async function mailDeliveryStatus(db: Database): Promise<MailDeliveryStatus> {
  const [row] = await db.select().from(mailDelivery);
  if (!row) return { status: "unknown", failures: 0, last_failure_at: null };
  return {
    status: row.failing ? "failing" : "ok",
    failures: row.failures,
    last_failure_at: row.lastFailureAt?.toISOString() ?? null,
  };
}
