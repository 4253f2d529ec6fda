import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** The lock file's name inside the locked directory; it holds the owner's process id. */
export const LOCK_FILE = ".lock";

/** Raised when another running process holds the directory. */
export class DirectoryInUseError extends Error {
  override name = "DirectoryInUseError";
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `${dir} is in use by process ${pid} (lock file ${join(dir, LOCK_FILE)}): PGlite allows one ` +
        "process at a time. Stop that process first, or point PGLITE_DIR elsewhere.",
    );
  }
}

// Directories this process holds: its own pid in a lock file means another opener here, unless
// the file is a leftover of an earlier process that had the same pid (a container's pid 1).
const heldHere = new Set<string>();

/**
 * Takes `dir` for this process, or throws DirectoryInUseError naming the process that holds it.
 * A lock whose process is gone is taken over. `release` (also run at exit) gives it back.
 */
export function lockDirectory(dir: string): { release(): void } {
  const file = join(resolve(dir), LOCK_FILE);
  if (heldHere.has(file)) throw new DirectoryInUseError(dir, process.pid);
  for (;;) {
    // Written whole aside, then linked into place: link fails if the lock exists, so no opener
    // ever reads a half-written lock, and of two openers exactly one gets it.
    const mine = `${file}.${process.pid}`;
    writeFileSync(mine, `${process.pid}\n`);
    try {
      linkSync(mine, file);
      heldHere.add(file);
      const release = () => {
        process.off("exit", release);
        if (heldHere.delete(file)) rmSync(file, { force: true });
      };
      process.on("exit", release);
      return { release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      rmSync(mine, { force: true });
    }
    const holder = readHolder(file);
    if (holder !== undefined && holder !== process.pid && isRunning(holder)) {
      throw new DirectoryInUseError(dir, holder);
    }
    takeOverStale(file, holder);
  }
}

function readHolder(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8"), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isRunning(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the stale lock of `holder`. It is moved aside first and checked: when two openers take
 * over at once, the later one may have moved the earlier one's new lock, and puts it back.
 */
function takeOverStale(file: string, holder: number | undefined) {
  const aside = `${file}.stale.${process.pid}`;
  try {
    renameSync(file, aside);
  } catch {
    return; // gone already: another opener removed it
  }
  if (readHolder(aside) !== holder) {
    try {
      linkSync(aside, file);
    } catch {
      // another lock is in place by now
    }
  }
  rmSync(aside, { force: true });
}
