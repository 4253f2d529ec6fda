import { z } from "@hono/zod-openapi";

const codePoints = (s: string) => [...s].length;

/** Route words that would make /api/user/{username} ambiguous. */
export const RESERVED_USERNAMES = new Set([
  "me",
  "register",
  "login",
  "logout",
  "refresh",
  "forget_password",
  "reset_password",
  "verify_email",
]);

const USERNAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
const USERNAME_MAX = 50;

export const usernameField = z
  .string()
  .min(3)
  .max(USERNAME_MAX)
  .regex(USERNAME_PATTERN, "may contain only letters, digits, '_', '.' and '-'")
  .refine((u) => !RESERVED_USERNAMES.has(u.toLowerCase()), "is reserved")
  .openapi({ example: "user1" });

export const emailField = z.email().max(254).openapi({ example: "user1@example.com" });

export const nameField = z
  .string()
  .trim()
  .min(1)
  .refine((s) => codePoints(s) <= 50, "must be at most 50 characters")
  .refine((s) => !/\p{Cc}/u.test(s), "must not contain control characters")
  .openapi({ minLength: 1, maxLength: 50, example: "User" });

/** Counted in code points after NFKC, so any Unicode is allowed; checked before any hashing. */
export const passwordField = z
  .string()
  .max(1024, "must be at most 128 characters")
  .refine((p) => codePoints(p.normalize("NFKC")) >= 8, "must be at least 8 characters")
  .refine((p) => codePoints(p.normalize("NFKC")) <= 128, "must be at most 128 characters")
  .openapi({ minLength: 8, maxLength: 128, format: "password", example: "correct horse battery" });

/** At login only the upper bound matters: it keeps over-long input away from argon2. */
export const loginPasswordField = z
  .string()
  .min(1)
  .max(1024, "must be at most 128 characters")
  .refine((p) => codePoints(p.normalize("NFKC")) <= 128, "must be at most 128 characters")
  .openapi({ maxLength: 128, format: "password" });

export const roleField = z.enum(["USER", "ADMIN"]);

/** A path segment naming an account; anything else simply matches no account. */
export const usernameParam = z.object({
  username: z.string().openapi({ param: { name: "username", in: "path" }, example: "user1" }),
});

/** Whether a path segment could name an account at all (same characters and bound as above). */
export const isPlausibleUsername = (s: string) =>
  s.length <= USERNAME_MAX && USERNAME_PATTERN.test(s);
