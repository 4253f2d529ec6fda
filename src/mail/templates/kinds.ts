/** Every message the API sends. */
export const mailKinds = [
  "password_reset",
  "email_verification",
  "email_change_confirmation",
  "email_change_notice",
] as const;
export type MailKind = (typeof mailKinds)[number];

/** What a message may say; each kind uses the facts it needs. */
export type MailFacts = {
  username: string;
  /** The one-time link (reset, verification, change confirmation). */
  link?: string;
  /** How long the link works. */
  ttlSeconds?: number;
  /** The address an email change goes to (the notice to the old address names it). */
  newEmail?: string;
  /** The account's names, when the sender has them at hand (empty in the message otherwise). */
  firstName?: string;
  lastName?: string;
};

const about = ["username", "first_name", "last_name"] as const;
const linked = [...about, "link", "lifetime", "lifetime_minutes", "lifetime_hours"] as const;

/** The variables each kind's templates may use; any other name is refused when they load. */
export const variablesOf: Record<MailKind, readonly string[]> = {
  password_reset: linked,
  email_verification: linked,
  email_change_confirmation: linked,
  // The notice goes to the old address and carries no link (the contract).
  email_change_notice: [...about, "new_email"],
};

/** The variables' values, as text; the HTML part escapes them. */
export function valuesOf(facts: MailFacts): Record<string, string> {
  const seconds = facts.ttlSeconds ?? 0;
  return {
    username: facts.username,
    first_name: facts.firstName ?? "",
    last_name: facts.lastName ?? "",
    link: facts.link ?? "",
    lifetime: describeLifetime(seconds),
    lifetime_minutes: String(Math.floor(seconds / 60)),
    lifetime_hours: String(Math.floor(seconds / 3600)),
    new_email: facts.newEmail ?? "",
  };
}

/** Rounds down, so the mail never promises more time than the token has. */
export function describeLifetime(seconds: number) {
  const [count, unit] =
    seconds < 60
      ? [seconds, "second"]
      : seconds < 7200
        ? [Math.floor(seconds / 60), "minute"]
        : [Math.floor(seconds / 3600), "hour"];
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}
