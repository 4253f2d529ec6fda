import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { ROOT } from "./processes";

type Instruction = { keyword: string; args: string };
export type Stage = { from: string; name?: string; steps: Instruction[] };

/** The Dockerfile's stages, each with its instructions (continuation lines joined). */
function dockerfileStages(text: string) {
  const lines = text
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = "", rest = ""] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === "ARG" && stages.length === 0) {
      const [name = "", value = ""] = rest.split("=");
      args.set(name, value);
    } else if (upper === "FROM") {
      const [image = "", , name] = rest.split(/\s+/);
      const from = image.replace(/^\$\{(\w+)\}$/, (_, arg: string) => args.get(arg) ?? "");
      stages.push({ from, name, steps: [] });
    } else {
      stages.at(-1)?.steps.push({ keyword: upper, args: rest });
    }
  }
  return stages;
}

export const stages = dockerfileStages(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
export const runtime = stages.at(-1) as Stage;
export const last = (stage: Stage, keyword: string) =>
  stage.steps.filter((s) => s.keyword === keyword).at(-1)?.args;
/** An exec-form instruction's words; the Dockerfile uses only that form for what it runs. */
const execForm = (args: string | undefined) => JSON.parse(args ?? "null") as string[];
export const healthcheck = execForm(last(runtime, "HEALTHCHECK")?.replace(/^.*?CMD\s+/, ""));
export const entrypoint = execForm(last(runtime, "ENTRYPOINT"));
export const command = execForm(last(runtime, "CMD"));

/** A compose.yaml service, as far as the tests read it. */
export type ComposeService = {
  image?: string;
  build?: string | { context: string };
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
  ports?: unknown[];
};

/** compose.yaml (or `docker compose config`'s output) read as YAML. */
export function composeServices(text = readFileSync(join(ROOT, "compose.yaml"), "utf8")) {
  return (parse(text, { merge: true }) as { services: Record<string, ComposeService> }).services;
}
