// `npm start`: compile the server when its sources changed, then run the compiled JavaScript in
// this same process. Imported dynamically so the version check runs before anything a too-old
// Node might trip on.
import { pathToFileURL } from "node:url";

await import("./check-node.mjs");
const { buildNode, bundleIsCurrent, SERVER_BUNDLE } = await import("./build-node.mjs");
const bundle = (await bundleIsCurrent()) ? SERVER_BUNDLE : await buildNode();
// Stack traces point into src/*.ts rather than the bundle.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(bundle).href);
