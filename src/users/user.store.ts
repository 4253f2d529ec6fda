import { and, asc, eq, or, sql } from "drizzle-orm";
import { type Database, isUniqueViolation } from "../db/database";
import { type NewUser, passwordResetTokens, type User, users } from "../db/schema";

// Everything the app does to accounts. Names and emails are matched through the same
// lower(...) expressions as the unique indexes, so every lookup is indexed and case-insensitive.

export const usernameIs = (username: string) =>
  eq(sql`lower(${users.username})`, sql`lower(${username})`);
export const emailIs = (email: string) => eq(sql`lower(${users.email})`, sql`lower(${email})`);

/** The bump of the account's token version: every access token and session issued before dies. */
export const bumpedTokenVersion = () => sql`${users.tokenVersion} + 1`;

export async function findByUsername(db: Database, username: string): Promise<User | undefined> {
  const [row] = await db.select().from(users).where(usernameIs(username)).limit(1);
  return row;
}

export async function findByEmail(db: Database, email: string): Promise<User | undefined> {
  const [row] = await db.select().from(users).where(emailIs(email)).limit(1);
  return row;
}

export async function usernameOrEmailTaken(db: Database, username: string, email: string) {
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(or(usernameIs(username), emailIs(email)))
    .limit(1);
  return rows.length > 0;
}

/** Creates the account, or reports "taken" when its username or email is (any letter case). */
export async function insertUser(db: Database, user: NewUser): Promise<"created" | "taken"> {
  // The unique indexes decide concurrent registrations: exactly one insert gets a row back.
  const rows = await db
    .insert(users)
    .values(user)
    .onConflictDoNothing()
    .returning({ id: users.id });
  return rows.length > 0 ? "created" : "taken";
}

/** What an update may change; `undefined` leaves a column as it is. */
export type AccountChanges = Partial<
  Pick<User, "username" | "email" | "firstName" | "lastName" | "role" | "active" | "passwordHash">
>;

/**
 * Updates one account under its row lock. `decide` sees the locked row (and, with
 * `guardLastAdmin`, whether another active ADMIN remains) and returns the changes or throws.
 * Changes to what an access token asserts (password, role, activity, username) revoke the
 * account's tokens; a new password or mailbox voids pending reset links.
 */
export async function updateAccount(
  db: Database,
  username: string,
  options: { guardLastAdmin: boolean; now: Date },
  decide: (target: User, anotherActiveAdmin: boolean) => AccountChanges,
): Promise<User | "missing" | "taken"> {
  try {
    return await db.transaction(async (tx) => {
      const admins = options.guardLastAdmin ? await lockActiveAdmins(tx) : [];
      const [target] = await tx.select().from(users).where(usernameIs(username)).for("update");
      if (!target) return "missing";
      const changes = decide(
        target,
        admins.some((id) => id !== target.id),
      );
      const revokes =
        changes.passwordHash !== undefined ||
        (changes.role !== undefined && changes.role !== target.role) ||
        (changes.active !== undefined && changes.active !== target.active) ||
        (changes.username !== undefined && changes.username !== target.username);
      const [row] = await tx
        .update(users)
        .set({
          ...changes,
          tokenVersion: revokes ? bumpedTokenVersion() : undefined,
          updatedAt: options.now,
        })
        .where(eq(users.id, target.id))
        .returning();
      const movesMailbox = changes.email !== undefined && changes.email !== target.email;
      if (changes.passwordHash !== undefined || movesMailbox) {
        await tx.delete(passwordResetTokens).where(eq(passwordResetTokens.userId, target.id));
      }
      return row ?? "missing";
    });
  } catch (error) {
    if (isUniqueViolation(error)) return "taken";
    throw error;
  }
}

/**
 * Locks every active ADMIN in id order and returns their ids. Two admins demoting themselves at
 * once queue on the same first row instead of deadlocking (40P01), and the one that waited sees
 * the other's change, so they cannot both leave.
 */
async function lockActiveAdmins(tx: Database) {
  const rows = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, "ADMIN"), eq(users.active, true)))
    .orderBy(asc(users.id))
    .for("update");
  return rows.map((row) => row.id);
}

/** Deletes a USER account (never an ADMIN); its sessions and reset tokens go with it (cascade). */
export async function deleteUserAccount(db: Database, id: number) {
  const rows = await db
    .delete(users)
    .where(and(eq(users.id, id), eq(users.role, "USER")))
    .returning({ id: users.id });
  return rows.length > 0;
}

/** The public view of an account: never the hash or the token version. */
export function toPublicUser(user: User) {
  return {
    id: user.id,
    username: user.username,
    first_name: user.firstName,
    last_name: user.lastName,
    email: user.email,
    role: user.role,
    active: user.active,
    created_at: user.createdAt.toISOString(),
    updated_at: user.updatedAt.toISOString(),
  };
}
