// workerd refuses to compile WebAssembly from bytes at run time; wrangler turns this static import
// into a precompiled WebAssembly.Module.

import type { WebAssembly as Wasm } from "@cloudflare/workers-types/latest/index.ts";
import argon2Module from "@phi-ag/argon2/argon2.wasm";
import { ARGON2_PARAMS, type PasswordHasher } from "../auth/password";

// Same output as @node-rs/argon2's defaults, so the PHC strings are interchangeable.
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const VERSION_0X13 = 0x13;
const TYPES = { $argon2d$: 0, $argon2i$: 1, $argon2id$: 2 } as const;
const ARGON2ID = TYPES.$argon2id$;

/** The C API of the reference argon2 implementation that @phi-ag/argon2 compiles to wasm. */
type Argon2Exports = {
  memory: Wasm.Memory;
  _initialize(): void;
  malloc(size: number): number;
  free(ptr: number): void;
  argon2_encodedlen(
    t: number,
    m: number,
    p: number,
    salt: number,
    hash: number,
    type: number,
  ): number;
  argon2_hash(
    t: number,
    m: number,
    p: number,
    pwd: number,
    pwdLen: number,
    salt: number,
    saltLen: number,
    hash: number,
    hashLen: number,
    encoded: number,
    encodedLen: number,
    type: number,
    version: number,
  ): number;
  argon2_verify(encoded: number, pwd: number, pwdLen: number, type: number): number;
};

// The project's type roots are Node's, whose WebAssembly typings lack the constructors.
const { Instance } = (globalThis as unknown as { WebAssembly: typeof Wasm }).WebAssembly;

let instance: Argon2Exports | undefined;

/** One instance per isolate, created on first use; wasm calls are synchronous, so never shared mid-call. */
function argon2(): Argon2Exports {
  if (!instance) {
    instance = new Instance(argon2Module).exports as unknown as Argon2Exports;
    instance._initialize();
  }
  return instance;
}

/**
 * Runs `work` with `bytes` copied into wasm memory, then wipes and frees them. The password goes
 * in as UTF-8 bytes with their byte length: @phi-ag/argon2's own wrapper passes the UTF-16 length
 * instead, which truncates non-ASCII passwords and breaks compatibility with the Node hashes.
 */
function withBytes<T>(a: Argon2Exports, bytes: Uint8Array, work: (ptr: number) => T): T {
  const ptr = a.malloc(Math.max(bytes.length, 1));
  if (ptr === 0) throw new Error("argon2: out of memory");
  try {
    new Uint8Array(a.memory.buffer, ptr, bytes.length).set(bytes);
    return work(ptr);
  } finally {
    new Uint8Array(a.memory.buffer, ptr, bytes.length).fill(0);
    a.free(ptr);
  }
}

function readCString(a: Argon2Exports, ptr: number): string {
  const heap = new Uint8Array(a.memory.buffer);
  let end = ptr;
  while (heap[end] !== 0) end++;
  return new TextDecoder().decode(heap.subarray(ptr, end));
}

const utf8 = (s: string) => new TextEncoder().encode(s);

function hashSync(password: string): string {
  const a = argon2();
  const { timeCost: t, memoryCost: m, parallelism: p } = ARGON2_PARAMS;
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const encodedLen = a.argon2_encodedlen(t, m, p, SALT_BYTES, HASH_BYTES, ARGON2ID);
  const pwd = utf8(password);
  return withBytes(a, pwd, (pwdPtr) =>
    withBytes(a, salt, (saltPtr) =>
      withBytes(a, new Uint8Array(HASH_BYTES), (hashPtr) =>
        withBytes(a, new Uint8Array(encodedLen), (encodedPtr) => {
          const code = a.argon2_hash(
            t,
            m,
            p,
            pwdPtr,
            pwd.length,
            saltPtr,
            SALT_BYTES,
            hashPtr,
            HASH_BYTES,
            encodedPtr,
            encodedLen,
            ARGON2ID,
            VERSION_0X13,
          );
          if (code !== 0) throw new Error(`argon2: hashing failed (code ${code})`);
          return readCString(a, encodedPtr);
        }),
      ),
    ),
  );
}

function verifySync(phc: string, password: string): boolean {
  const prefix = Object.keys(TYPES).find((p) => phc.startsWith(p)) as
    | keyof typeof TYPES
    | undefined;
  if (prefix === undefined) return false;
  const a = argon2();
  const pwd = utf8(password);
  return withBytes(a, utf8(`${phc}\0`), (encodedPtr) =>
    withBytes(
      a,
      pwd,
      (pwdPtr) => a.argon2_verify(encodedPtr, pwdPtr, pwd.length, TYPES[prefix]) === 0,
    ),
  );
}

/** argon2id in WebAssembly for workerd; same parameters and PHC strings as the Node hasher. */
export const wasmArgon2: PasswordHasher = {
  hash: async (password) => hashSync(password),
  async verify(phc, password) {
    try {
      return verifySync(phc, password);
    } catch {
      // A malformed stored hash is a failed login, not a 500.
      return false;
    }
  },
};
