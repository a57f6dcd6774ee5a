import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The console's build (part of `npm run build`): static files into dist/console, which the `console`
 * Function serves. Every file lands at the top level (no assets/ folder): the Function's route is one optional
 * path segment, so it can never answer a path of the API. No inline script or style (the page's
 * Content-Security-Policy forbids them), nothing from another host.
 */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/",
  publicDir: "public",
  logLevel: "warn",
  build: {
    outDir: fileURLToPath(new URL("../dist/console", import.meta.url)),
    emptyOutDir: true,
    assetsDir: "",
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: "es2022",
    sourcemap: false,
  },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
});
