/** Hashes and verifies passwords; argon2id PHC strings in production, anything fast in unit tests. */
export type PasswordHasher = {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** True while a hash asked for now would be refused at once (see limitHashing). */
  saturated?(): boolean;
};

/** argon2id parameters shared by every runtime (OWASP minimum: 19 MiB, 2 passes, 1 lane). */
export const ARGON2_PARAMS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * A real argon2id hash with ARGON2_PARAMS of a string no account uses. Verifying against it for an
 * unknown username costs what a wrong password costs, so login timing does not reveal accounts.
 */
const DUMMY_HASH =
  "$argon2id$v=19$m=19456,t=2,p=1$REkGdi2sJU5e7Rx1+lF3fg$DUaT/BdqQegOZhAFEj+VHUsfMzOy3tJJ1WtXDDsIHNk";

/** Passwords are compared in NFKC form so the same text typed on different keyboards matches. */
export const normalizePassword = (password: string) => password.normalize("NFKC");

export const hashPassword = (hasher: PasswordHasher, password: string) =>
  hasher.hash(normalizePassword(password));

/** Verifies a password; with no stored hash (unknown user) it does the same work and fails. */
export async function verifyPassword(
  hasher: PasswordHasher,
  hash: string | undefined,
  password: string,
): Promise<boolean> {
  const ok = await hasher.verify(hash ?? DUMMY_HASH, normalizePassword(password));
  return hash !== undefined && ok;
}
