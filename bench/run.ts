/**
 * `npm run bench`: every benchmark in turn, each printing its own table with a baseline measured in the same
 * run. Pass names to run only some: `npm run bench -- upload`.
 */
const benchmarks: Record<string, () => Promise<unknown>> = {
  upload: () => import("./upload.js").then((m) => m.run()),
  json: () => import("./json.js").then((m) => m.run()),
  pacing: () => import("./pacing.js").then((m) => m.run()),
  transports: () => import("./transports.js").then((m) => m.run()),
  edge: () => import("./edge.js").then((m) => m.run()),
  statusWrites: () => import("./statusWrites.js").then((m) => m.run()),
  storage: () => import("./storage.js").then((m) => m.run()),
};

const wanted = process.argv.slice(2);
for (const [name, run] of Object.entries(benchmarks)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  await run();
}
