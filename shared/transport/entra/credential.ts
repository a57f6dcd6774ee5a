import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";

/** The app's certificate credential in the shape msal-node takes. */
export interface CertificateCredential {
  /** Hex SHA-256 thumbprint of the certificate (Entra's `x5t#S256`). */
  thumbprintSha256: string;
  /** PKCS#8 PEM private key; Entra signs client assertions with RSA (PS256), so the key must be RSA. */
  privateKey: string;
  /** The certificate (PEM), sent as `x5c` so subject-name/issuer registrations also work. */
  x5c: string;
}

/**
 * Reads a PEM file holding a certificate and its private key (the form Key Vault exports and
 * ENTRA_CLIENT_CERTIFICATE_PATH / RELAY_CLIENT_CERTIFICATE_PATH name). Throws a message naming `setting`
 * when the file is missing, has no certificate or key, or the two do not belong together: at start-up,
 * not at the first send.
 */
export function readPemPair(path: string, setting: string): { cert: string; key: string } {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`${setting}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  const key =
    /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.exec(
      pem,
    )?.[0];
  if (!cert || !key) throw new Error(`${setting}: ${path} must hold a PEM certificate and its private key`);
  try {
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) {
      throw new Error("the private key does not belong to the certificate");
    }
  } catch (error) {
    throw new Error(`${setting}: ${path}: ${error instanceof Error ? error.message : error}`);
  }
  return { cert, key };
}

/** The Entra certificate credential from a PEM file with certificate and RSA key. */
export function readCertificateCredential(path: string): CertificateCredential {
  const setting = "ENTRA_CLIENT_CERTIFICATE_PATH";
  const { cert, key } = readPemPair(path, setting);
  const privateKey = createPrivateKey(key);
  if (privateKey.asymmetricKeyType !== "rsa") {
    throw new Error(
      `${setting}: Entra ID certificate credentials need an RSA key, not ${privateKey.asymmetricKeyType}`,
    );
  }
  return {
    thumbprintSha256: new X509Certificate(cert).fingerprint256.replaceAll(":", "").toLowerCase(),
    privateKey: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    x5c: cert,
  };
}
