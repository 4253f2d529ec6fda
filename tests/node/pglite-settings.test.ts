import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { openPglite } from "../../src/node/database";

// PGlite's default shared_buffers (128MB) was most of an idle embedded server's memory.
it("opens the embedded database with a 16MB shared_buffers", async () => {
  const database = await openPglite(undefined);
  try {
    const result = (await database.db.execute(sql`show shared_buffers`)) as unknown as {
      rows: { shared_buffers: string }[];
    };
    expect(result.rows[0]?.shared_buffers).toBe("16MB");
  } finally {
    await database.close();
  }
});
