import { randomUUID } from "node:crypto";
import {
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";

/**
 * The lock's name inside the locked directory: a directory holding OWNER_FILE, whose contents say
 * who holds it and whose modification time the holder keeps fresh.
 */
export const LOCK_FILE = ".lock";
const OWNER_FILE = "owner";

/** A lock its holder has not refreshed for this long is taken as left by a crashed process. */
export const LOCK_STALE_MS = 20_000;

/**
 * How often the holder refreshes its lock. The gap to LOCK_STALE_MS is what a holder may stall
 * (a blocked event loop, a paused container) before another opener may take its lock.
 */
export const LOCK_REFRESH_MS = 5_000;

type Owner = { token: string; pid: number; host: string };

/** Raised when another process holds the directory. */
export class DirectoryInUseError extends Error {
  override name = "DirectoryInUseError";
  constructor(
    readonly dir: string,
    detail: string,
  ) {
    super(
      `${dir} is in use by ${detail} (lock ${join(dir, LOCK_FILE)}): PGlite allows one process ` +
        "at a time. Stop that process first, or point PGLITE_DIR elsewhere. A lock not refreshed " +
        `for ${LOCK_STALE_MS / 1000} s is taken as left by a process that crashed, and taken over.`,
    );
  }
}

/**
 * Takes `dir` for this process, or throws DirectoryInUseError. Liveness is the lock's freshness,
 * not a process id: another PID namespace or host sharing the volume cannot see the holder's
 * process, and took its lock for a dead one's. The holder refreshes it every LOCK_REFRESH_MS and
 * removes it on `release` (also run at exit); one left unrefreshed for LOCK_STALE_MS is taken
 * over. `onLost` is called if the lock stops being this process's (taken over after a stall, or
 * removed by hand): from then on another process may be using the directory.
 */
export function lockDirectory(dir: string, onLost: (reason: string) => void) {
  const path = join(resolve(dir), LOCK_FILE);
  const owner: Owner = { token: randomUUID(), pid: process.pid, host: hostname() };
  for (let attempt = 0; !place(path, owner); attempt++) {
    const found = inspect(path);
    if (found === "gone") continue;
    if (found === "not a lock") {
      throw new DirectoryInUseError(
        dir,
        `an earlier version of this app (${LOCK_FILE} is a file, not a lock of this version's; ` +
          "remove it once no process uses the directory)",
      );
    }
    if (found.ageMs < LOCK_STALE_MS || attempt >= 3) {
      const who = found.owner
        ? `process ${found.owner.pid} on ${found.owner.host}`
        : "another process";
      throw new DirectoryInUseError(dir, `${who}, refreshed ${seconds(found.ageMs)} s ago`);
    }
    takeOverStale(path);
  }

  const ownerFile = join(path, OWNER_FILE);
  let held = true;
  const lose = (reason: string) => {
    if (!held) return;
    held = false;
    clearInterval(timer);
    process.off("exit", release);
    onLost(reason);
  };
  const timer = setInterval(() => {
    if (readOwner(path)?.token !== owner.token) {
      lose(`its lock ${path} was taken over or removed by another process`);
      return;
    }
    try {
      const now = new Date();
      utimesSync(ownerFile, now, now);
    } catch (error) {
      lose(`its lock ${path} could not be refreshed (${(error as Error).message})`);
    }
  }, LOCK_REFRESH_MS);
  timer.unref();

  const release = () => {
    if (!held) return;
    held = false;
    clearInterval(timer);
    process.off("exit", release);
    removeIfMine(path, owner.token);
  };
  process.on("exit", release);
  return { release };
}

const seconds = (ms: number) => Math.max(0, Math.round(ms / 1000));

/**
 * Puts a lock of `owner` at `path`, or returns false when one is there. Built whole aside and
 * renamed into place: a rename onto a directory that is not empty fails, so no opener ever sees a
 * half-made lock, none replaces another's, and of two openers exactly one gets it.
 */
function place(path: string, owner: Owner) {
  const staging = `${path}.new-${owner.token}`;
  mkdirSync(staging);
  try {
    writeFileSync(join(staging, OWNER_FILE), JSON.stringify(owner));
    renameSync(staging, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR") return false;
    throw error;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function readOwner(path: string): Partial<Owner> | undefined {
  try {
    return JSON.parse(readFileSync(join(path, OWNER_FILE), "utf8")) as Partial<Owner>;
  } catch {
    return undefined;
  }
}

/** Who holds the lock at `path` and how long ago it was refreshed. */
function inspect(path: string) {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    return "gone" as const;
  }
  // The previous version's lock: a file holding a process id, which says nothing of liveness.
  if (!stat.isDirectory()) return "not a lock" as const;
  let refreshed = stat.mtimeMs;
  try {
    refreshed = statSync(join(path, OWNER_FILE)).mtimeMs;
  } catch {
    // being removed by its holder: the directory's own time stands in
  }
  const owner = readOwner(path);
  return {
    owner: owner?.pid && owner.host ? { pid: owner.pid, host: owner.host } : undefined,
    ageMs: Date.now() - refreshed,
  };
}

/**
 * Removes the stale lock at `path`. It is first moved aside, which only one opener can do, and
 * checked there: if it turns out fresh, a new holder put it in place after it was judged stale,
 * and it goes back (if another lock took its place by then, it is removed, and its holder learns
 * at its next refresh that the lock is no longer its own).
 */
function takeOverStale(path: string) {
  const aside = `${path}.stale-${randomUUID()}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // gone already: another opener moved it
  }
  const moved = inspect(aside);
  if (typeof moved === "object" && moved.ageMs < LOCK_STALE_MS) {
    try {
      renameSync(aside, path);
      return;
    } catch {
      // another lock is in place by now
    }
  }
  rmSync(aside, { recursive: true, force: true });
}

/**
 * Removes the lock at `path` if it is still the one `token` placed: a holder that stalled past
 * LOCK_STALE_MS may have lost it to another opener, whose lock stays.
 */
function removeIfMine(path: string, token: string) {
  if (readOwner(path)?.token === token) rmSync(path, { recursive: true, force: true });
}
