// npm scripts run with node_modules/.bin first on PATH, where the `node` devDependency puts Node 24.
// If its install script was skipped (--ignore-scripts), the system Node runs instead: fail loudly.
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `This project needs Node.js >= 22 (found ${process.versions.node}).\n` +
      "The `node` devDependency provides it: run `npm install` without --ignore-scripts " +
      "(or `npm rebuild node`), or install Node 22+ yourself.",
  );
  process.exit(1);
}
