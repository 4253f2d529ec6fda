import { hash, verify } from "@node-rs/argon2";
import { ARGON2_PARAMS, type PasswordHasher } from "../auth/password";

// Algorithm.Argon2id; the enum is `const` in the typings, which isolatedModules cannot inline.
const ARGON2ID = 2;

/** argon2id through the native @node-rs/argon2 binding (Node only). */
export const nodeArgon2: PasswordHasher = {
  hash: (password) => hash(password, { algorithm: ARGON2ID, ...ARGON2_PARAMS }),
  async verify(phc, password) {
    try {
      return await verify(phc, password);
    } catch {
      // A malformed stored hash is a failed login, not a 500.
      return false;
    }
  },
};
