// `npm start`: compile the server, then run the compiled JavaScript in this same process.
// Imported dynamically so the version check runs before anything a too-old Node might trip on.
import { pathToFileURL } from "node:url";

await import("./check-node.mjs");
const { buildNode } = await import("./build-node.mjs");
const bundle = await buildNode();
// Stack traces point into src/*.ts rather than the bundle.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(bundle).href);
