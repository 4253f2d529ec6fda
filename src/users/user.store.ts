import { and, eq, ne, or, sql } from "drizzle-orm";
import type { Database } from "../db/database";
import { type NewUser, type User, users } from "../db/schema";

const lower = (value: string) => sql`lower(${value})`;

/** The indexed case-insensitive match on a username (lower(username) = lower($1)). */
export const usernameIs = (username: string) => eq(sql`lower(${users.username})`, lower(username));
const emailIs = (email: string) => eq(sql`lower(${users.email})`, lower(email));

/** Case-insensitive lookup by username (the indexed lower(username) expression). */
export async function findByUsername(db: Database, username: string): Promise<User | undefined> {
  const [row] = await db.select().from(users).where(usernameIs(username)).limit(1);
  return row;
}

/** Login accepts a username or an email; usernames cannot contain '@' so the two never collide. */
export async function findByLogin(db: Database, login: string): Promise<User | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(login.includes("@") ? emailIs(login) : usernameIs(login))
    .limit(1);
  return row;
}

export async function findById(db: Database, id: number): Promise<User | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row;
}

export async function findActiveByUsernameAndEmail(db: Database, username: string, email: string) {
  const [row] = await db
    .select()
    .from(users)
    .where(and(usernameIs(username), emailIs(email), eq(users.active, true)))
    .limit(1);
  return row;
}

export async function insertUser(db: Database, user: NewUser) {
  await db.insert(users).values(user);
}

/**
 * Locks the active admins other than `exceptId` and reports whether one remains. Inside a
 * transaction, FOR UPDATE makes two admins demoting themselves at once see each other's change.
 */
export async function anotherActiveAdminExists(db: Database, exceptId: number) {
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, "ADMIN"), eq(users.active, true), ne(users.id, exceptId)))
    .for("update");
  return rows.length > 0;
}

export function matchesEither(username: string, email: string) {
  return or(usernameIs(username), emailIs(email));
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

export async function usernameOrEmailTaken(db: Database, username: string, email: string) {
  const rows = await db
    .select({ id: users.id })
    .from(users)
    .where(matchesEither(username, email))
    .limit(1);
  return rows.length > 0;
}
