export interface FormPart {
  name: string;
  value: string | Buffer;
  filename?: string;
  type?: string;
  /** The whole Content-Disposition value instead of `form-data; name=…`; null for none at all. */
  disposition?: string | null;
  /** More header lines, as sent (`Content-Transfer-Encoding: base64`). */
  headers?: string[];
}

/** A `multipart/form-data` body as devices send it, built by hand so tests control every byte. */
export function multipartBody(
  boundary: string,
  parts: FormPart[],
  options: { close?: boolean } = {},
): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition =
      part.disposition !== undefined
        ? part.disposition
        : `form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ""}`;
    const lines = [
      ...(disposition === null ? [] : [`Content-Disposition: ${disposition}`]),
      ...(part.type ? [`Content-Type: ${part.type}`] : []),
      ...(part.headers ?? []),
    ];
    chunks.push(Buffer.from(`--${boundary}\r\n${lines.map((l) => `${l}\r\n`).join("")}\r\n`));
    chunks.push(Buffer.from(part.value), Buffer.from("\r\n"));
  }
  if (options.close !== false) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}
