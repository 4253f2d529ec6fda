import { FastHasher } from "./fakes";

/** A verify held at its start until the test lets it go. */
export type HeldVerify = {
  /** Resolves once a request's verify has begun (its handler's checks are behind it). */
  reached: Promise<void>;
  release(): void;
};

/**
 * The fast hasher, except that the next verify can be held: a handler that has made its checks
 * waits there while the test changes the database under it, deterministically, before the
 * handler's write.
 */
export class PausingHasher extends FastHasher {
  private armed: { reached(): void; released: Promise<void> } | undefined;

  /** Holds the next verify (only that one) until `release()`. */
  holdNextVerify(): HeldVerify {
    let reached = () => {};
    let release = () => {};
    const reachedPromise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.armed = { reached, released };
    return { reached: reachedPromise, release };
  }

  override async verify(hash: string, password: string) {
    const held = this.armed;
    this.armed = undefined;
    if (held) {
      held.reached();
      await held.released;
    }
    return super.verify(hash, password);
  }
}
