import { parseArgs } from "node:util";
import { hashPassword } from "../src/auth/password";
import { passwordProblem } from "../src/auth/password-policy";
import { randomToken } from "../src/auth/tokens";
import { nodeArgon2 } from "../src/node/argon2";
import { loadConfigOrExit } from "../src/node/config";
import { openDatabase } from "../src/node/database";
import { loadEnvFile } from "../src/node/env-file";
import { passwordField } from "../src/users/user.fields";
import { insertSeedUsers, lastSeedNumber, SEED_PREFIX, vacuumUsers } from "../src/users/user.store";

// Test data for development and measurement, never for production: `--count` USER accounts
// (default 100,000) named seed_u<n>, <n> continuing after the last seeded one, every tenth one
// inactive, all sharing one password (one argon2 hash: hashing each would take minutes).
// Usage: npm run db:seed-users -- --count=100000

const FIRST_NAMES = [
  "Ada",
  "Alan",
  "Barbara",
  "Claude",
  "Dennis",
  "Edsger",
  "Frances",
  "Grace",
  "Hedy",
  "Ivan",
  "Joan",
  "Ken",
  "Leslie",
  "Margaret",
  "Niklaus",
  "Ole-Johan",
  "Radia",
  "Shafi",
  "Tim",
  "Whitfield",
  "Adele",
  "Bjarne",
  "Carol",
  "Donald",
  "Elaine",
  "Fernando",
  "Guido",
  "Hal",
  "Ingrid",
  "John",
  "Karen",
  "Linus",
  "Mary",
  "Nancy",
  "Peter",
  "Rasmus",
  "Sophie",
  "Tony",
  "Ursula",
  "Yukihiro",
];
const LAST_NAMES = [
  "Lovelace",
  "Turing",
  "Liskov",
  "Shannon",
  "Ritchie",
  "Dijkstra",
  "Allen",
  "Hopper",
  "Lamarr",
  "Sutherland",
  "Clarke",
  "Thompson",
  "Lamport",
  "Hamilton",
  "Wirth",
  "Dahl",
  "Perlman",
  "Goldwasser",
  "Berners-Lee",
  "Diffie",
  "Goldberg",
  "Stroustrup",
  "Shaw",
  "Knuth",
  "Rich",
  "Corbató",
  "van Rossum",
  "Abelson",
  "Daubechies",
  "McCarthy",
  "Spärck Jones",
  "Torvalds",
  "Kenneth",
  "Lynch",
  "Naur",
  "Lerdorf",
  "Wilson",
  "Hoare",
  "Martin",
  "Matsumoto",
];

/** Rows per statement: each stays well inside the 3.5 s query deadline of the Postgres pool. */
const BATCH = 2000;

const { values } = parseArgs({ options: { count: { type: "string", default: "100000" } } });
const count = Number(values.count);
if (!/^\d+$/.test(values.count ?? "") || count < 1 || count > 10_000_000) {
  console.error("--count must be a whole number from 1 to 10,000,000");
  process.exit(1);
}

loadEnvFile();
const config = loadConfigOrExit(process.env, { warn: false });
if (config.nodeEnv === "production") {
  console.error("Refusing to seed test accounts with NODE_ENV=production.");
  process.exit(1);
}
const given = process.env.SEED_USERS_PASSWORD || undefined;
const problem =
  given &&
  (passwordField.safeParse(given).error?.issues[0]?.message ??
    passwordProblem(given, { username: `${SEED_PREFIX}1`, email: `${SEED_PREFIX}1@example.org` }));
if (problem) {
  console.error(`SEED_USERS_PASSWORD: ${problem}`);
  process.exit(1);
}
const password = given ?? randomToken();

const database = await openDatabase(config);
try {
  const started = performance.now();
  const passwordHash = await hashPassword(nodeArgon2, password);
  const first = (await lastSeedNumber(database.db)) + 1;
  const last = first + count - 1;
  for (let from = first; from <= last; from += BATCH) {
    const to = Math.min(from + BATCH - 1, last);
    await insertSeedUsers(database.db, {
      from,
      to,
      passwordHash,
      names: [FIRST_NAMES, LAST_NAMES],
      now: new Date(),
    });
    if (process.stdout.isTTY) process.stdout.write(`\r${to - first + 1} of ${count}`);
  }
  // Searches and plans fit the new size at once, rather than when autovacuum gets to it.
  await vacuumUsers(database.db);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const where = database.kind === "postgres" ? "DATABASE_URL" : config.pgliteDir;
  console.log(
    `\rCreated ${count} accounts ${SEED_PREFIX}${first}…${SEED_PREFIX}${last} in ${where} (${seconds} s).`,
  );
  if (!given) console.log(`Their shared password (shown once): ${password}`);
} finally {
  await database.close();
}
