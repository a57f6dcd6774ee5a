import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { clientSchema, sha256Hex, transportNames } from "../shared/domain/client.js";
import { CliError, type CliIo } from "./io.js";

// 32 random bytes: 256 bits of entropy, base64url so it fits a header, a URL or a scanner's password field.
const keyBytes = 32;

/** A new API key: `mh_` and 43 base64url characters. */
export function newApiKey(): string {
  return `mh_${randomBytes(keyBytes).toString("base64url")}`;
}

// Microsoft Learn, "Troubleshoot outbound SMTP connectivity problems in Azure".
const port25Note =
  "Note: direct and relay connect to the MX endpoint on TCP port 25, which Azure blocks for most subscription\n" +
  "types (Enterprise Agreement and MCA-E excepted; a NAT gateway does not lift it). Hosted in Azure, use smtp,\n" +
  "graph or hve, or send Direct Send from your own network. See docs/deployment.md.";

/**
 * `mailhook keys new`: prints a new key once and the `MAILHOOK_CLIENTS` entry that holds only its SHA-256.
 * The key is never stored anywhere by this command.
 */
export async function keysCommand(args: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "new") throw new CliError("usage: mailhook keys new [--client-id id] [--sender a@x ...]", 2);
  const { values } = parseArgs({
    args: rest,
    options: {
      "client-id": { type: "string" },
      sender: { type: "string", multiple: true },
      "default-sender": { type: "string" },
      transport: { type: "string" },
      "recipient-domain": { type: "string", multiple: true },
      json: { type: "boolean" },
    },
  });
  const key = newApiKey();
  const senders = values.sender ?? [];
  const parsed = clientSchema.safeParse({
    id: values["client-id"] ?? `client-${randomBytes(3).toString("hex")}`,
    keySha256: sha256Hex(key),
    senders: senders.length > 0 ? senders : ["*@contoso.com"],
    defaultSender: values["default-sender"] ?? senders.find((s) => !s.includes("*")),
    transport: values.transport ?? "graph",
    ...(values["recipient-domain"] ? { recipientDomains: values["recipient-domain"] } : {}),
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join(".") || "client"}: ${i.message}`);
    throw new CliError(
      `invalid client entry (transports: ${transportNames.join(", ")}):\n${problems.join("\n")}`,
      2,
    );
  }
  const entry = parsed.data;
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ key, client: entry }, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(
    [
      "API key (shown only now; give it to the caller and keep no other copy):",
      `  ${key}`,
      "",
      "Add this entry to the MAILHOOK_CLIENTS array (it holds only the key's SHA-256):",
      JSON.stringify(entry, null, 2),
      ...(senders.length === 0
        ? ["", "Edit senders: *@contoso.com is a placeholder (--sender a@yourdomain)."]
        : []),
      ...(entry.transport === "direct" || entry.transport === "relay" ? ["", port25Note] : []),
      "",
    ].join("\n"),
  );
  return 0;
}
