import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { startAzurite } from "../dev/azurite.js";
import { startLocalHost } from "../dev/localHostProcess.js";
import { multipartScan, peakRssDuring, postBody, rssBytes } from "./memory.js";
import { printTable } from "./table.js";

const MiB = 1024 * 1024;
const sizesMiB = [10, 50];

/**
 * Memory and time of a multipart upload through the local host (the multipart splitter streaming into Blob), beside the same
 * file piped straight into Blob with the SDK in the same run. The figure is the ratio; the target is less
 * than 64 MiB of extra host memory whatever the file size.
 */
export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "mailhook-bench-"));
  const azurite = await startAzurite();
  const host = await startLocalHost({
    env: { AzureWebJobsStorage: azurite.connectionString, MAX_MESSAGE_BYTES: String(100 * MiB) },
  });
  const rows: Record<string, string | number>[] = [];
  try {
    const hostPid = await host.hostPid();
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      "bench",
    );
    await container.createIfNotExists();
    for (const sizeMiB of sizesMiB) {
      const file = join(dir, `scan-${sizeMiB}.pdf`);
      await writeFile(file, randomBytes(sizeMiB * MiB));

      // Baseline: the SDK streaming the same file into Blob, measured in this process.
      global.gc?.();
      const benchIdle = await rssBytes(process.pid);
      let sdkMs = 0;
      const benchPeak = await peakRssDuring(process.pid, async () => {
        const started = performance.now();
        await container
          .getBlockBlobClient(`scan-${sizeMiB}`)
          .uploadStream(createReadStream(file), 4 * MiB, 4);
        sdkMs = performance.now() - started;
      });

      await new Promise((resolve) => setTimeout(resolve, 500));
      const hostIdle = await rssBytes(hostPid);
      let status = 0;
      let hostMs = 0;
      const hostPeak = await peakRssDuring(hostPid, async () => {
        const started = performance.now();
        status = await postBody(
          `${host.url}/api/v1/messages`,
          { authorization: `Bearer ${host.devKey}` },
          multipartScan(file, sizeMiB * MiB),
        );
        hostMs = performance.now() - started;
      });
      rows.push({
        "file MiB": sizeMiB,
        status,
        "host extra RSS MiB": (hostPeak - hostIdle) / MiB,
        "SDK extra RSS MiB": (benchPeak - benchIdle) / MiB,
        "host upload ms": Math.round(hostMs),
        "SDK upload ms": Math.round(sdkMs),
        "time ratio host/SDK": hostMs / sdkMs,
        "MiB/s via host": sizeMiB / (hostMs / 1000),
      });
    }
  } finally {
    await host.stop();
    await azurite.stop();
    await rm(dir, { recursive: true, force: true });
  }
  printTable(
    "Multipart upload through the local host vs. the Blob SDK alone (target: host extra RSS < 64 MiB)",
    rows,
  );
}
