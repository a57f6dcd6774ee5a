#!/usr/bin/env node
import { runCli } from "./run.js";

// `npx mailhook ...`: the process's own environment and streams.
runCli(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
);
