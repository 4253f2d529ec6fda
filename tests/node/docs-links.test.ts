import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type NodeTestApi } from "../support/node-api";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The pages a reader moves between; their relative links and #anchors must resolve. */
function documents(base: string) {
  const docs = join(base, "docs");
  const pages = existsSync(docs)
    ? readdirSync(docs)
        .filter((name) => name.endsWith(".md"))
        .map((name) => join(docs, name))
    : [];
  return [
    ...["README.md", "CHANGELOG.md", "SECURITY.md", "bench/README.md"].map((f) => join(base, f)),
    ...pages,
  ].filter((file) => existsSync(file));
}

/** Markdown without fenced code blocks and inline code, where `[x](y)` and `# x` mean nothing. */
function prose(markdown: string) {
  return markdown
    .replace(/^[ \t]*(```|~~~)[^\n]*\n[\s\S]*?^[ \t]*\1[^\n]*$/gm, "")
    .replace(/`[^`\n]*`/g, (code) => (code.includes("](") ? "" : code));
}

/** GitHub's anchor for a heading (github-slugger): lower case, punctuation gone, spaces to `-`. */
function slug(heading: string) {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[`*]/g, "")
    .trim();
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

const anchorCache = new Map<string, Set<string>>();

/** Every anchor a page's headings produce, with GitHub's -1, -2… for repeats. */
function anchors(file: string) {
  const cached = anchorCache.get(file);
  if (cached) return cached;
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const [, heading] of prose(readFileSync(file, "utf8")).matchAll(/^#{1,6}[ \t]+(.+)$/gm)) {
    const base = slug(heading ?? "");
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : `${base}-${count}`);
  }
  anchorCache.set(file, found);
  return found;
}

/** Every relative link or anchor in the pages under `base` that points at nothing. */
function brokenLinks(base: string) {
  anchorCache.clear();
  const broken: string[] = [];
  for (const file of documents(base)) {
    const text = prose(readFileSync(file, "utf8"));
    for (const [, target] of text.matchAll(
      /!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g,
    )) {
      if (!target || /^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, mailto:, …
      const [path = "", anchor] = target.split("#", 2);
      const where = path === "" ? file : resolve(dirname(file), decodeURIComponent(path));
      const from = `${relative(base, file)} → ${target}`;
      if (!existsSync(where)) {
        broken.push(`${from}: no such file`);
      } else if (anchor !== undefined) {
        if (statSync(where).isDirectory() || !where.endsWith(".md")) {
          broken.push(`${from}: an anchor into a file that is not Markdown`);
        } else if (!anchors(where).has(decodeURIComponent(anchor))) {
          broken.push(`${from}: no such heading`);
        }
      }
    }
  }
  return broken;
}

describe("the documentation's internal links", () => {
  it("covers the README, every page of docs/, bench/README.md, the changelog and the policy", () => {
    const names = documents(root).map((file) => relative(root, file));
    expect(names).toEqual(
      expect.arrayContaining([
        "README.md",
        "CHANGELOG.md",
        "SECURITY.md",
        "bench/README.md",
        "docs/api.md",
        "docs/operations.md",
        "docs/workers.md",
        "docs/security.md",
        "docs/architecture.md",
      ]),
    );
  });

  it("every relative link points at an existing file, and every #anchor at a heading", () => {
    expect(brokenLinks(root)).toEqual([]);
  });

  it("the README stays a door: at most 300 lines", () => {
    const lines = readFileSync(join(root, "README.md"), "utf8").split("\n");
    if (lines.at(-1) === "") lines.pop();
    expect(lines.length).toBeLessThanOrEqual(300);
  });

  describe("the checker itself", () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "docs-links-"));
      mkdirSync(join(dir, "docs"));
      writeFileSync(
        join(dir, "docs", "api.md"),
        "# API\n\n## Sessions — `POST /api/user/refresh`\n",
      );
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const check = (readme: string) => {
      writeFileSync(join(dir, "README.md"), readme);
      return brokenLinks(dir);
    };

    it("accepts a link to a heading with code and a dash in it, and links inside code", () => {
      expect(
        check(
          "# Title\n[s](docs/api.md#sessions--post-apiuserrefresh) [t](#title)\n" +
            "```md\n[x](nowhere.md)\n```\n`[y](nowhere.md)` [web](https://example.com/x.md)\n",
        ),
      ).toEqual([]);
    });

    it("reports a missing file, a missing heading and a missing anchor of the page itself", () => {
      expect(check("# Title\n[a](docs/gone.md) [b](docs/api.md#gone) [c](#gone)\n")).toEqual([
        "README.md → docs/gone.md: no such file",
        "README.md → docs/api.md#gone: no such heading",
        "README.md → #gone: no such heading",
      ]);
    });
  });
});

describe("the version and the licence the project publishes", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    version: string;
    license: string;
  };
  let api: NodeTestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  it("GET /openapi.json reports package.json's version and licence", async () => {
    const res = await api.app.request("/openapi.json");
    const { info } = (await res.json()) as {
      info: { version: string; license?: { name: string } };
    };
    expect(info.version).toBe(pkg.version);
    expect(info.license?.name).toBe(pkg.license);
  });

  it("the licence is MIT, in package.json and in LICENSE", () => {
    expect(pkg.license).toBe("MIT");
    const licence = readFileSync(join(root, "LICENSE"), "utf8");
    expect(licence).toMatch(/^MIT License\n/);
    expect(licence).toContain("Copyright (c) 2026 the edge-user-api contributors");
  });

  it("SECURITY.md supports the current minor version", () => {
    const minor = pkg.version.split(".").slice(0, 2).join(".");
    expect(readFileSync(join(root, "SECURITY.md"), "utf8")).toContain(`| ${minor}.x | yes |`);
  });
});
