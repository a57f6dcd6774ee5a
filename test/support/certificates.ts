import { X509Certificate } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generate } from "selfsigned";

/** A throwaway RSA certificate and key in one PEM file (the shape ENTRA_/RELAY_CLIENT_CERTIFICATE_PATH take). */
export async function writeCertificatePair(dir: string, commonName: string) {
  const pems = await generate([{ name: "commonName", value: commonName }], {
    algorithm: "sha256",
    keyType: "rsa",
    keySize: 2048,
    notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
  });
  const path = join(dir, `${commonName}.pem`);
  await writeFile(path, `${pems.cert}\n${pems.private}`, { mode: 0o600 });
  return {
    path,
    cert: pems.cert,
    key: pems.private,
    fingerprint256: new X509Certificate(pems.cert).fingerprint256,
  };
}
