import { createPrivateKey, X509Certificate } from "node:crypto";
import { type PemSource, pemSourceName, pemText } from "../pemSetting.js";

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
 * Reads a certificate and its private key in PEM (the form Key Vault exports), from a setting's text
 * (ENTRA_CLIENT_CERTIFICATE / RELAY_CLIENT_CERTIFICATE) or a file (the *_CERTIFICATE_PATH settings). Throws a
 * message naming the setting when the file is missing, there is no certificate or key, or the two do not
 * belong together: at start-up, not at the first send.
 */
export function readPemPair(source: PemSource): { cert: string; key: string } {
  const pem = pemText(source);
  const where = pemSourceName(source);
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  const key =
    /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.exec(
      pem,
    )?.[0];
  if (!cert || !key) throw new Error(`${where} must hold a PEM certificate and its private key`);
  try {
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) {
      throw new Error("the private key does not belong to the certificate");
    }
  } catch (error) {
    throw new Error(`${where}: ${error instanceof Error ? error.message : error}`);
  }
  return { cert, key };
}

/** The Entra certificate credential from PEM (a setting's text or a file) with certificate and RSA key. */
export function readCertificateCredential(source: PemSource): CertificateCredential {
  const { cert, key } = readPemPair(source);
  const privateKey = createPrivateKey(key);
  if (privateKey.asymmetricKeyType !== "rsa") {
    throw new Error(
      `${source.setting}: Entra ID certificate credentials need an RSA key, not ${privateKey.asymmetricKeyType}`,
    );
  }
  return {
    thumbprintSha256: new X509Certificate(cert).fingerprint256.replaceAll(":", "").toLowerCase(),
    privateKey: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    x5c: cert,
  };
}
