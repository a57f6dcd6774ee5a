import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startAzurite } from "../../dev/azurite.js";
import { ensureLocalCertificate } from "../../dev/tls.js";

declare module "vitest" {
  export interface ProvidedContext {
    storageConnection: string;
    tlsCert: string;
    tlsKey: string;
  }
}

/**
 * One Azurite (in memory) for the whole run, and a localhost certificate that every test process trusts
 * through NODE_EXTRA_CA_CERTS (set here, before the test processes start, so they inherit it).
 */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), "mailhook-test-"));
  const tls = await ensureLocalCertificate(join(dir, "tls"));
  process.env.NODE_EXTRA_CA_CERTS = tls.certPath;
  const azurite = await startAzurite();
  project.provide("storageConnection", azurite.connectionString);
  project.provide("tlsCert", tls.cert);
  project.provide("tlsKey", tls.key);
  return async () => {
    await azurite.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
