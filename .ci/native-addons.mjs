// Loads every native addon in node_modules with the running Node. An addon built against one Node's ABI
// (NODE_MODULE_VERSION) fails to load on another; Node-API addons load on any. Run with Node 22 before the
// tests so a Node-20-only build shows up as itself, not as a test failure somewhere.
import { readdirSync } from "node:fs";
import { join } from "node:path";

function addons(dir) {
  let found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found = found.concat(addons(path));
    else if (entry.name.endsWith(".node")) found.push(path);
  }
  return found;
}

const failed = [];
const files = addons("node_modules");
for (const file of files) {
  try {
    process.dlopen({ exports: {} }, join(process.cwd(), file));
  } catch (error) {
    failed.push(`${file}: ${error.message}`);
  }
}
console.log(
  `native addons on node ${process.version}: ${files.length} found, ${files.length - failed.length} load`,
);
for (const line of failed) console.error(`  cannot load ${line}`);
process.exit(failed.length > 0 ? 1 : 0);
