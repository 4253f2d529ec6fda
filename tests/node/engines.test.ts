import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes";

// npm warns (EBADENGINE) when the Node running `npm install` is outside the `engines` range of
// the project or of any package it installs. The project's range is the Node a user needs: every
// npm script then runs on the Node 24 of the `node` devDependency.

type Lock = { packages: Record<string, { engines?: { node?: string } }> };
const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as Lock;
const promised = (
  JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Lock["packages"][string]
).engines?.node as string;

/** The packages installed here (optional ones for other platforms are not) with a Node range. */
const installed = Object.entries(lock.packages)
  .filter(([path, meta]) => path !== "" && meta.engines?.node && existsSync(join(ROOT, path)))
  .map(([path, meta]) => ({
    name: path.replace(/^.*node_modules\//, ""),
    range: meta.engines?.node as string,
  }));

const ACCEPTED = ["20.19.0", "20.20.2", "22.12.0", "22.20.0", "24.0.0", "25.0.0", "26.0.0"];
const REFUSED = ["18.20.0", "20.18.0", "21.7.0", "22.11.0", "23.11.0"];

describe("engines.node", () => {
  it("is the range every installed dependency accepts, so npm install on it warns about nothing", () => {
    expect(ACCEPTED.filter((v) => !satisfies(v, promised))).toEqual([]);
    for (const version of ACCEPTED) {
      const refusing = installed.filter((p) => !satisfies(version, p.range));
      expect(refusing, `Node ${version}`).toEqual([]);
    }
  });

  it("promises no Node that a dependency refuses", () => {
    expect(REFUSED.filter((v) => satisfies(v, promised))).toEqual([]);
    for (const version of REFUSED) {
      expect(
        installed.some((p) => !satisfies(version, p.range)),
        `Node ${version} is refused by no dependency: widen engines.node`,
      ).toBe(true);
    }
  });
});

type Version = [number, number, number];
const parse = (v: string): Version => {
  const parts = v.split(".").map(Number);
  if (parts.some(Number.isNaN) || parts.length > 3) throw new Error(`cannot read version ${v}`);
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
};
const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** npm's range test, for the forms engines fields use: `||`, `^`, `~`, `>=`, `>`, `<=`, `<`, `=`. */
function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  return range.split("||").some((set) =>
    set
      .trim()
      .replace(/(>=|<=|>|<|\^|~|=)\s+/g, "$1")
      .split(/\s+/)
      .every((comparator) => {
        if (comparator === "*" || comparator === "") return true;
        // `12.*` and `12.x` are `12`.
        const plain = comparator.replace(/(\.[*xX])+$/, "");
        const [, op = "", bound = ""] =
          /^(>=|<=|>|<|\^|~|=)?(\d+(?:\.\d+){0,2})$/.exec(plain) ?? [];
        if (!bound) throw new Error(`cannot read range ${range}`);
        const b = parse(bound);
        const c = compare(v, b);
        if (op === "^") return c >= 0 && v[0] === b[0];
        if (op === "~") return c >= 0 && v[0] === b[0] && v[1] === b[1];
        if (op === ">=") return c >= 0;
        if (op === ">") return c > 0;
        if (op === "<=") return c <= 0;
        if (op === "<") return c < 0;
        // A bare `20` or `20.1` is every version that starts so.
        const given = bound.split(".").length;
        return v.slice(0, given).every((part, i) => part === b[i]);
      }),
  );
}
