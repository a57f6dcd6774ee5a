import { doctorCommand } from "./doctor/command.js";
import { edgeCommand } from "./edge/command.js";
import { CliError, type CliIo } from "./io.js";
import { keysCommand } from "./keys.js";
import { quotaCommand, statusCommand } from "./lookup.js";
import { sendCommand, sendUsage } from "./send.js";

export const usage = `mailhook: send email through a mailhook deployment, and check its configuration

  mailhook keys new [--client-id id] [--sender a@x ...] [--default-sender a@x] [--transport graph|smtp|direct|relay]
  ${sendUsage.replace("usage: ", "")}
  mailhook status <message id>
  mailhook quota <mailbox>
  mailhook doctor [--env-file .azure/<env>/.env] [--domain contoso.com ...] [--dns-server 1.1.1.1[:53]]
                  [--static-ip 203.0.113.7] [--egress-ip 203.0.113.7] [--timeout-ms 5000]
  mailhook edge --api https://<app>.azurewebsites.net [--listen [host:]port] ... (mailhook edge --help)

send, status and quota read MAILHOOK_URL (the app, e.g. https://<app>.azurewebsites.net, with or without
/api or /api/v1; npm start prints the local one) and MAILHOOK_KEY.
doctor reads the app settings (MAILHOOK_CLIENTS, SMTP_HOST, ...) from the environment, or from an azd
environment file (--env-file), whose MAILHOOK_URL and STATIC_OUTBOUND_IP it checks too.
edge is the SMTP server for devices that cannot post HTTP; it forwards each message to the API.
`;

const commands: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  keys: keysCommand,
  send: sendCommand,
  status: statusCommand,
  quota: quotaCommand,
  doctor: doctorCommand,
  edge: edgeCommand,
};

/** Runs one CLI invocation; answers the exit code. Nothing here calls process.exit. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    io.stdout.write(usage);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    io.stderr.write(`unknown command ${name}\n\n${usage}`);
    return 2;
  }
  try {
    return await command(args, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`${error.message}\n`);
      return error.exitCode;
    }
    // parseArgs reports unknown or malformed options with this code.
    if (error instanceof Error && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      io.stderr.write(`${error.message}\n`);
      return 2;
    }
    io.stderr.write(`mailhook ${name} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
