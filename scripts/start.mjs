// `npm start`: compile the server when its sources changed, then run the compiled JavaScript in
// this same process. Imported dynamically so the version check runs before anything a too-old
// Node might trip on.
import { pathToFileURL } from "node:url";

// argon2 runs on libuv's thread pool, HASH_CONCURRENCY (default 4) hashes at once: that would fill
// the pool's default 4 threads and leave WebCrypto (token signing) and fs queued behind argon2.
// Set before anything uses the pool, which starts on first use; a size set by the user wins.
process.env.UV_THREADPOOL_SIZE ??= String(Number(process.env.HASH_CONCURRENCY || 4) + 4);

await import("./check-node.mjs");
const { buildNode, bundleIsCurrent, SERVER_BUNDLE } = await import("./build-node.mjs");
const bundle = (await bundleIsCurrent()) ? SERVER_BUNDLE : await buildNode();
// Stack traces point into src/*.ts rather than the bundle.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(bundle).href);
