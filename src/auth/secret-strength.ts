/**
 * The least estimated entropy a production JWT secret may have. Random keys of 32 characters or
 * more score well above it (32 random hex characters 89–128 bits, 32 random base64 characters
 * 120–160); keys of a few repeated characters score far below (32 × 'a' is 0, 'abcd' × 8 is 64).
 */
export const MIN_SECRET_ENTROPY_BITS = 80;

/**
 * Estimated bits of a secret: its length in code points times the Shannon entropy of its own
 * character frequencies. It reads slightly low for random keys and cannot see a dictionary
 * phrase; it is a floor against obviously weak keys, not a proof of randomness.
 */
export function estimatedEntropyBits(secret: string): number {
  const symbols = [...secret];
  const counts = new Map<string, number>();
  for (const symbol of symbols) counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
  let bitsPerSymbol = 0;
  for (const count of counts.values()) {
    const p = count / symbols.length;
    bitsPerSymbol -= p * Math.log2(p);
  }
  return bitsPerSymbol * symbols.length;
}

/** Whether the secret is a shorter block written out at least twice ('0123456789abcdef' × 2). */
export function isRepeatedBlock(secret: string): boolean {
  const symbols = [...secret];
  // Knuth–Morris–Pratt failure function: the longest proper prefix that is also a suffix.
  const border = new Array<number>(symbols.length).fill(0);
  for (let i = 1, k = 0; i < symbols.length; i++) {
    while (k > 0 && symbols[i] !== symbols[k]) k = border[k - 1] ?? 0;
    if (symbols[i] === symbols[k]) k++;
    border[i] = k;
  }
  const period = symbols.length - (border.at(-1) ?? 0);
  return symbols.length > 0 && period * 2 <= symbols.length;
}

/** Why a secret is too weak to sign production tokens with, or undefined when it is not. */
export function weakSecretReason(secret: string): string | undefined {
  if (isRepeatedBlock(secret)) return "a short block repeated";
  const bits = estimatedEntropyBits(secret);
  if (bits < MIN_SECRET_ENTROPY_BITS) {
    return `an estimated ${Math.floor(bits)} bits of entropy, at least ${MIN_SECRET_ENTROPY_BITS} required (too few distinct characters)`;
  }
  return undefined;
}
