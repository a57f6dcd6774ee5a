import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { generate } from "selfsigned";

/** The edge's TLS certificate and key (PEM), with what a device admin checks it by. */
export interface EdgeCertificate {
  cert: string;
  key: string;
  /** SHA-256 fingerprint, `AB:CD:…`, as devices and browsers show it. */
  fingerprint256: string;
  /** True when the edge made it itself at start-up (it changes with every start). */
  generated: boolean;
  subject: string;
}

/**
 * The certificate from `--tls-cert`/`--tls-key`, or one generated in memory for `hostname` (the edge keeps
 * nothing on disk). Generated keys are RSA 2048: many older devices offer no ECDSA cipher suite.
 */
export async function edgeCertificate(options: {
  certPath?: string;
  keyPath?: string;
  hostname: string;
}): Promise<EdgeCertificate> {
  if (options.certPath || options.keyPath) {
    if (!options.certPath || !options.keyPath) throw new Error("--tls-cert and --tls-key go together");
    const [cert, key] = await Promise.all([
      readFile(options.certPath, "utf8"),
      readFile(options.keyPath, "utf8"),
    ]);
    const x509 = new X509Certificate(cert);
    return { cert, key, fingerprint256: x509.fingerprint256, generated: false, subject: x509.subject };
  }
  const notAfterDate = new Date(Date.now() + 5 * 365 * 24 * 3600 * 1000);
  const pems = await generate([{ name: "commonName", value: options.hostname }], {
    algorithm: "sha256",
    keyType: "rsa",
    keySize: 2048,
    notAfterDate,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: options.hostname }] },
    ],
  });
  const x509 = new X509Certificate(pems.cert);
  return {
    cert: pems.cert,
    key: pems.private,
    fingerprint256: x509.fingerprint256,
    generated: true,
    subject: x509.subject,
  };
}
