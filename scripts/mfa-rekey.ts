import { rekeyMfaSecrets } from "../src/mfa/rekey";
import { loadConfigOrExit } from "../src/node/config";
import { openDatabaseOrExit } from "../src/node/database";
import { loadEnvFile } from "../src/node/env-file";

// Seals every TOTP secret still under a key of MFA_OLD_ENCRYPTION_KEYS again with
// MFA_ENCRYPTION_KEY, then prints what remains under other keys (docs/api.md, rotating the key).
loadEnvFile();
const config = loadConfigOrExit(process.env, { warn: false });
if (!process.env.MFA_ENCRYPTION_KEY) {
  console.error("MFA_ENCRYPTION_KEY: required (the key to seal the secrets with)");
  process.exit(1);
}
const database = await openDatabaseOrExit(config);
try {
  const { resealed, remaining } = await rekeyMfaSecrets(database.db, config);
  console.log(`Re-sealed ${resealed} secret(s) with key ${config.mfaKeys[0].id}.`);
  for (const { keyId, factors } of remaining) {
    console.log(`  still under key ${keyId}: ${factors}`);
  }
  if (remaining.length === 0) console.log("No secret is under another key.");
} finally {
  await database.close();
}
