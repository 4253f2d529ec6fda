import { readFileSync } from "node:fs";
import os from "node:os";
import type postgres from "postgres";

export type Machine = {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string;
  date: string;
};

const osName = () => {
  try {
    return (
      /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? os.type()
    );
  } catch {
    return `${os.type()} ${os.release()}`;
  }
};

export async function describeMachine(sql: postgres.Sql): Promise<Machine> {
  const [row] = await sql<{ server_version: string }[]>`SHOW server_version`;
  return {
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: osName(),
    node: process.version,
    postgres: row?.server_version ?? "unknown",
    date: new Date().toISOString(),
  };
}
