import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../dev/settings.js";
import { routes } from "../../shared/api/routes.js";
import { queueFunctions, timerFunctions } from "../../shared/host/functions.js";

// The architecture as a check: the source's import graph has no cycles, and each room of shared/ imports
// only from rooms below it. A new file or folder must find its place here.
const root = projectRoot();
const sourceFolders = ["shared", "functions", "dev", "cli", "scripts", "bench", "console"];

/** shared/ rooms from the bottom up; a room may import its own files and any room of a lower layer. */
const layers: string[][] = [
  ["domain", "log.ts", "keyVaultReference.ts"],
  ["pacing", "webhooks"],
  ["config.ts"],
  ["storage", "transport"],
  ["intake"],
  ["app"],
  ["api"],
  ["host"],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(path) ? [path] : [];
  });
}

const files = sourceFolders.flatMap((folder) => sourceFiles(join(root, folder)));

/** Every relative import (type-only included: a cycle of types still tangles two modules). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found = [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)];
  return found.map((m) => {
    const target = resolve(dirname(file), m[1]!.replace(/\.js$/, ".ts"));
    return existsSync(target) ? target : target.replace(/\.ts$/, ".tsx");
  });
}

/**
 * What the console (a browser page) may import besides its own files: modules of shared/ that need nothing
 * of Node, only zod and each other.
 */
const browserSafe = [
  "shared/domain/statusRecord.ts",
  "shared/domain/transportName.ts",
  "shared/domain/problem.ts",
  "shared/api/views.ts",
];

const graph = new Map(files.map((file) => [file, importsOf(file)]));
const name = (file: string) => relative(root, file);

/** The room of a file under shared/ (`api`, `config.ts`...), or undefined outside shared/. */
function roomOf(file: string): string | undefined {
  const [top, room] = name(file).split("/");
  return top === "shared" ? room : undefined;
}

describe("layout", () => {
  it("has no import cycles between source files", () => {
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        cycles.push([...path.slice(path.indexOf(file)), file].map(name).join(" → "));
        return;
      }
      state.set(file, "visiting");
      for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file]);
      state.set(file, "done");
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it("keeps every room of shared/ above the rooms it imports, and shared/ free of the hosts and tools", () => {
    const layerOf = new Map(layers.flatMap((rooms, layer) => rooms.map((room) => [room, layer] as const)));
    const problems: string[] = [];
    for (const [file, imports] of graph) {
      const room = roomOf(file);
      if (room === undefined) continue;
      expect(layerOf.has(room), `shared/${room} is in no layer of this test`).toBe(true);
      for (const target of imports) {
        const targetRoom = roomOf(target);
        if (targetRoom === undefined) problems.push(`${name(file)} imports ${name(target)} outside shared/`);
        else if (targetRoom !== room && (layerOf.get(targetRoom) ?? 99) >= (layerOf.get(room) ?? -1))
          problems.push(`${name(file)} (${room}) imports ${name(target)} (${targetRoom})`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("keeps the console to its own files and the browser-safe schemas of shared/", () => {
    const problems: string[] = [];
    for (const [file, imports] of graph) {
      const inConsole = name(file).startsWith("console/");
      const safe = browserSafe.includes(name(file));
      if (!inConsole && !safe) continue;
      for (const target of imports) {
        if (name(target).startsWith("console/") && inConsole) continue;
        if (!browserSafe.includes(name(target))) problems.push(`${name(file)} imports ${name(target)}`);
      }
      if (safe && /from\s+["']node:/.test(readFileSync(file, "utf8")))
        problems.push(`${name(file)} imports Node`);
    }
    expect(problems).toEqual([]);
    // And the console never hands data to the HTML parser: text only.
    const html = [...graph.keys()]
      .filter((f) => name(f).startsWith("console/"))
      .filter((f) =>
        /dangerouslySetInnerHTML|innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(
          readFileSync(f, "utf8"),
        ),
      );
    expect(html.map(name)).toEqual([]);
  });

  it("registers one Function per file in functions/, each named in the route or function tables", () => {
    const declared = [
      ...routes.map((r) => [r.name, "registerHttpFunction"]),
      ...queueFunctions.map((f) => [f.name, "registerQueueFunction"]),
      ...timerFunctions.map((f) => [f.name, "registerTimerFunction"]),
    ];
    const registered = sourceFiles(join(root, "functions")).map((file) => {
      const text = readFileSync(file, "utf8");
      const call = /(register\w+Function)\("([^"]+)"\)/.exec(text);
      return [basename(file, ".ts"), call?.[1], call?.[2]];
    });
    expect(registered.sort()).toEqual(declared.map(([fn, register]) => [fn, register, fn]).sort());
  });
});
