import { parseArgs } from "node:util";
import { endpointFrom, getJson } from "./api.js";
import { CliError, type CliIo } from "./io.js";

const connectionOptions = { url: { type: "string" }, key: { type: "string" } } as const;

/** `mailhook status <id>`: the message's status record as JSON. */
export async function statusCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: connectionOptions, allowPositionals: true });
  const [id] = positionals;
  if (!id || positionals.length > 1) throw new CliError("usage: mailhook status <message id>", 2);
  const record = await getJson(endpointFrom(io, values), `/v1/messages/${encodeURIComponent(id)}`);
  io.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
  return 0;
}

/** `mailhook quota <mailbox>`: limits, usage and the next free slot of a sending mailbox. */
export async function quotaCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: connectionOptions, allowPositionals: true });
  const [mailbox] = positionals;
  if (!mailbox || positionals.length > 1) throw new CliError("usage: mailhook quota <mailbox address>", 2);
  const quota = await getJson(endpointFrom(io, values), `/v1/mailboxes/${encodeURIComponent(mailbox)}/quota`);
  io.stdout.write(`${JSON.stringify(quota, null, 2)}\n`);
  return 0;
}
