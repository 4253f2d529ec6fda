import { and, asc, count, eq, gt, inArray, ne } from "drizzle-orm";
import type { Config } from "../config";
import type { Database } from "../db/database";
import { mfaFactors } from "../db/schema";
import { openSecret, sealSecret } from "./secret-box";

// Key rotation (docs/api.md, rotating the key): every secret sealed by an old key (one of
// MFA_OLD_ENCRYPTION_KEYS) is sealed again with MFA_ENCRYPTION_KEY, a batch at a time.

const BATCH = 100;

/**
 * Re-seals the secrets of old keys with the current one. Each update applies only while the row
 * still holds the ciphertext that was read (an enrolment meanwhile wins). Returns how many were
 * re-sealed and how many factors remain per key id other than the current one (a key id that is
 * configured nowhere stays: those secrets are unreadable until their key is given back).
 */
export async function rekeyMfaSecrets(db: Database, config: Pick<Config, "mfaKeys">) {
  const [current, ...old] = config.mfaKeys;
  const oldIds = old.map((k) => k.id).filter((id) => id !== current.id);
  let resealed = 0;
  let after = 0;
  while (oldIds.length > 0) {
    const rows = await db
      .select()
      .from(mfaFactors)
      .where(and(inArray(mfaFactors.keyId, oldIds), gt(mfaFactors.userId, after)))
      .orderBy(asc(mfaFactors.userId))
      .limit(BATCH);
    if (rows.length === 0) break;
    for (const row of rows) {
      const sealed = { ciphertext: row.secretCiphertext, keyId: row.keyId };
      const secret = await openSecret(config.mfaKeys, row.userId, sealed);
      const next = await sealSecret(config.mfaKeys, row.userId, secret);
      const updated = await db
        .update(mfaFactors)
        .set({ secretCiphertext: next.ciphertext, keyId: next.keyId })
        .where(
          and(
            eq(mfaFactors.userId, row.userId),
            eq(mfaFactors.secretCiphertext, row.secretCiphertext),
          ),
        )
        .returning({ userId: mfaFactors.userId });
      resealed += updated.length;
      after = row.userId;
    }
  }
  const remaining = await db
    .select({ keyId: mfaFactors.keyId, factors: count() })
    .from(mfaFactors)
    .where(ne(mfaFactors.keyId, current.id))
    .groupBy(mfaFactors.keyId);
  return { resealed, remaining };
}
