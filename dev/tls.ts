import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generate } from "selfsigned";

export interface TlsFiles {
  certPath: string;
  cert: string;
  key: string;
}

/**
 * A self-signed certificate for `localhost` (the local SMTP sink), generated once into `dir`. Clients trust it
 * through NODE_EXTRA_CA_CERTS, never by turning verification off.
 */
export async function ensureLocalCertificate(dir: string): Promise<TlsFiles> {
  const certPath = join(dir, "localhost-cert.pem");
  const keyPath = join(dir, "localhost-key.pem");
  try {
    return { certPath, cert: await readFile(certPath, "utf8"), key: await readFile(keyPath, "utf8") };
  } catch {
    await mkdir(dir, { recursive: true });
    const notAfterDate = new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000);
    // A unique organization keeps certificates of different runs apart in one trust bundle (OpenSSL looks
    // issuers up by subject name, so two "CN=localhost" roots would shadow each other).
    const subject = [
      { name: "commonName", value: "localhost" },
      { name: "organizationName", value: `mailhook local ${randomBytes(6).toString("hex")}` },
    ];
    const pems = await generate(subject, {
      algorithm: "sha256",
      keyType: "ec",
      notAfterDate,
      extensions: [
        { name: "basicConstraints", cA: true },
        { name: "keyUsage", digitalSignature: true, keyCertSign: true },
        { name: "extKeyUsage", serverAuth: true },
        { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }] },
      ],
    });
    // Key first, then certificate, each written atomically: a reader never sees a half pair.
    await writeAtomically(keyPath, pems.private, 0o600);
    await writeAtomically(certPath, pems.cert, 0o644);
    return { certPath, cert: pems.cert, key: pems.private };
  }
}

async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, content, { mode });
  await rename(temp, path);
}
