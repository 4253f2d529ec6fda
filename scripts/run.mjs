// Every npm script but `start` runs its command through here (`node scripts/run.mjs <command>
// [args]`), so the Node version is checked in one place (check-node.mjs) before anything else.
// npm has already put node_modules/.bin first on PATH, so `<command>` is the project's own.
import { spawn } from "node:child_process";
import "./check-node.mjs";

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error("usage: node scripts/run.mjs <command> [args...]");
  process.exit(2);
}
const child = spawn(command, args, { stdio: "inherit" });
// npm passes SIGINT/SIGTERM to this process only; the command must get them to stop cleanly.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("error", (error) => {
  console.error(`${command}: ${error.message}`);
  process.exit(127);
});
child.on("exit", (code, signal) => {
  if (signal) {
    // End the same way, so npm and shells see the signal rather than a made-up code.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
