import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/processes";

// The folders of src/ import one way: a folder that reaches back into one that imports it can no
// longer be read, tested or moved without the other. Files at the root of src/ (app.ts, deps.ts,
// errors.ts, config.ts…) are the wiring every folder may use, so only imports from one folder
// into another count. Type-only imports count too: they couple the folders just the same.

const SRC = join(ROOT, "src");

/** Every .ts file under src/, by its path relative to src/. */
const sources = (readdirSync(SRC, { recursive: true }) as string[]).filter((path) =>
  path.endsWith(".ts"),
);

/** The folder of src/ a path relative to src/ lies in, or undefined at the root. */
const folderOf = (path: string) => (path.includes("/") ? path.split("/")[0] : undefined);

/** Folder → the folders it imports, each with one import that shows it ("a.ts imports b"). */
function folderGraph() {
  const graph = new Map<string, Map<string, string>>();
  for (const path of sources) {
    const from = folderOf(path);
    if (!from) continue;
    const { importedFiles } = ts.preProcessFile(readFileSync(join(SRC, path), "utf8"), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const to = folderOf(relative(SRC, resolve(SRC, dirname(path), fileName)));
      if (!to || to === from) continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      if (!edges.has(to)) edges.set(to, `src/${path} imports ${fileName}`);
      graph.set(from, edges);
    }
  }
  return graph;
}

/** A cycle of the graph as the imports that make it, or undefined when it has none. */
function findCycle(graph: Map<string, Map<string, string>>): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (folder: string): string[] | undefined => {
    const at = path.indexOf(folder);
    if (at >= 0) {
      const loop = [...path.slice(at), folder];
      return loop.slice(1).map((to, i) => graph.get(loop[i] as string)?.get(to) as string);
    }
    if (done.has(folder)) return undefined;
    path.push(folder);
    for (const to of graph.get(folder)?.keys() ?? []) {
      const cycle = visit(to);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(folder);
    return undefined;
  };
  for (const folder of graph.keys()) {
    const cycle = visit(folder);
    if (cycle) return cycle;
  }
  return undefined;
}

describe("the folders of src/", () => {
  it("finds the imports between folders (the check below sees something)", () => {
    const graph = folderGraph();
    expect(graph.get("routes")?.has("db") || graph.get("routes")?.has("users")).toBe(true);
    expect(
      findCycle(
        new Map([
          ["a", new Map([["b", "a→b"]])],
          ["b", new Map([["a", "b→a"]])],
        ]),
      ),
    ).toEqual(["a→b", "b→a"]);
  });

  it("import each other in no cycle", () => {
    const cycle = findCycle(folderGraph());
    // The cycle, import by import, is the failure message.
    expect(cycle ?? []).toEqual([]);
  });
});
