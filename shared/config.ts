import { isIP } from "node:net";
import { z } from "zod";
import { clientSchema, domainSchema, type TransportName } from "./domain/client.js";
import { unresolvedKeyVaultReferences } from "./keyVaultReference.js";
import type { PacingSettings } from "./pacing/limits.js";
import { type DestinationPolicy, urlProblem } from "./webhooks/destination.js";

const jsonText = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "is not valid JSON" });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** Exchange Online's default message size limit, 35 MB (MAX_MESSAGE_BYTES). */
export const defaultMessageBytes = 35 * 1024 * 1024;

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * High Volume Email's limits are not Exchange's mailbox limits. Microsoft's HVE page
 * (https://learn.microsoft.com/exchange/mail-flow-best-practices/high-volume-mails-m365) is the source to check;
 * each default says where it comes from, and where Microsoft publishes no number it is a safe guess.
 */
const hveDefaults = {
  // No message rate is published for HVE accounts: twice a mailbox's 30 per minute, and at one recipient a
  // message still under the 100,000 recipients a day the preview allowed.
  messagesPerMinute: 60,
  // The public preview allowed 100,000 recipients a day per tenant (Exchange Team blog, "Public Preview: High
  // Volume Email for Microsoft 365", April 2024); no per-account number is published for general availability.
  recipientsPerDay: 100_000,
  // 50 recipients per message and 10 MB per message, as summaries of Microsoft's HVE page give them (not
  // confirmed from the page itself here): both lower than a mailbox's 500 and 35 MB, so the safe side.
  recipientsPerMessage: 50,
  messageBytes: 10 * 1024 * 1024,
  // No connection limit is published for HVE; SMTP AUTH's 3 per mailbox is the known safe number.
  concurrency: 3,
} as const;

const hostName = z.string().refine((host) => isIP(host) === 0, {
  message: "must be a DNS name, not an IP address (Microsoft 365 endpoints change addresses)",
});

/**
 * `MX_ENDPOINT`: the tenant's MX host (contoso-com.mail.protection.outlook.com), optionally `host:port`;
 * the port defaults to 25, the only one Direct Send and relay connectors listen on (another port is for tests).
 */
const mxEndpoint = z
  .string()
  .regex(/^[^:\s]+(:\d{1,5})?$/, "must be host or host:port")
  .transform((value) => {
    const [host = "", port = "25"] = value.split(":");
    return { host, port: Number(port) };
  })
  .pipe(
    z.object({
      host: hostName,
      port: z
        .number()
        .int()
        .min(1)
        .max(65535)
        .refine((port) => port !== 465, { message: "465 (implicit TLS) is not supported by Microsoft 365" }),
    }),
  );

const smtpPort = z.coerce
  .number()
  .int()
  .min(1)
  .max(65535)
  .refine((port) => port !== 465, {
    message: "465 (implicit TLS) is not supported by Microsoft 365; use 587 with STARTTLS",
  });

const envSchema = z
  .object({
    AzureWebJobsStorage: z.string().min(1).optional(),
    // Identity-based storage, as Azure Functions names it: the account (or each service's URI) and,
    // for a user-assigned managed identity, its client id.
    AzureWebJobsStorage__accountName: z
      .string()
      .regex(/^[a-z0-9]{3,24}$/, "must be a storage account name")
      .optional(),
    AzureWebJobsStorage__blobServiceUri: z.url({ protocol: /^https$/ }).optional(),
    AzureWebJobsStorage__queueServiceUri: z.url({ protocol: /^https$/ }).optional(),
    AzureWebJobsStorage__tableServiceUri: z.url({ protocol: /^https$/ }).optional(),
    AzureWebJobsStorage__clientId: z.string().min(1).optional(),
    MAILHOOK_CLIENTS: jsonText(
      z
        .array(clientSchema)
        .min(1, "must list at least one client")
        .refine(
          (clients) => new Set(clients.map((c) => c.id)).size === clients.length,
          "client ids must be unique",
        )
        .refine(
          (clients) => new Set(clients.map((c) => c.keySha256)).size === clients.length,
          "two clients share one key",
        ),
    ),
    ENTRA_TENANT_ID: z.string().min(1).optional(),
    ENTRA_CLIENT_ID: z.string().min(1).optional(),
    ENTRA_CLIENT_SECRET: z.string().min(1).optional(),
    ENTRA_CLIENT_CERTIFICATE_PATH: z.string().min(1).optional(),
    // The same PEM as text or base64, filled by a Key Vault reference in Azure (transport/pemSetting.ts).
    ENTRA_CLIENT_CERTIFICATE: z.string().min(1).optional(),
    ENTRA_AUTHORITY_HOST: z.url({ protocol: /^https$/ }).default("https://login.microsoftonline.com"),
    GRAPH_ENDPOINT: z.url({ protocol: /^https$/ }).default("https://graph.microsoft.com"),
    SMTP_HOST: hostName.default("smtp.office365.com"),
    SMTP_PORT: smtpPort.default(587),
    SMTP_AUTH: z.enum(["oauth2", "basic"]).default("oauth2"),
    SMTP_PASSWORDS: jsonText(z.record(z.string(), z.string().min(1))).optional(),
    MX_ENDPOINT: mxEndpoint.optional(),
    ACCEPTED_DOMAINS: z
      .string()
      .transform((list) =>
        list
          .split(",")
          .map((d) => d.trim())
          .filter(Boolean),
      )
      .pipe(z.array(domainSchema).min(1))
      .optional(),
    RELAY_CLIENT_CERTIFICATE_PATH: z.string().min(1).optional(),
    RELAY_CLIENT_CERTIFICATE: z.string().min(1).optional(),
    // High Volume Email: SMTP submission from HVE accounts, OAuth unless the account has a password here.
    HVE_HOST: hostName.default("smtp.hve.mx.microsoft"),
    HVE_PORT: smtpPort.default(587),
    HVE_PASSWORDS: jsonText(z.record(z.string(), z.string().min(1))).optional(),
    HVE_MESSAGES_PER_MINUTE: positiveInt(hveDefaults.messagesPerMinute),
    HVE_RECIPIENTS_PER_DAY: positiveInt(hveDefaults.recipientsPerDay),
    HVE_RECIPIENTS_PER_MESSAGE: positiveInt(hveDefaults.recipientsPerMessage),
    HVE_MAX_MESSAGE_BYTES: positiveInt(hveDefaults.messageBytes),
    HVE_CONCURRENCY: positiveInt(hveDefaults.concurrency),
    // Tenant external recipient rate limit (550 5.7.233): how often a paused tenant tries one external message.
    TENANT_EXTERNAL_PROBE_MINUTES: z.coerce.number().positive().default(30),
    // Graph: 150 MB uploaded per 5 minutes per app and mailbox (read as 10^6-byte megabytes: the smaller reading).
    GRAPH_UPLOAD_MB_PER_5_MINUTES: positiveInt(150),
    MAILBOX_MESSAGES_PER_MINUTE: positiveInt(30),
    MAILBOX_RECIPIENTS_PER_DAY: positiveInt(10_000),
    MAX_RECIPIENTS_PER_MESSAGE: positiveInt(500),
    MAX_MESSAGE_BYTES: positiveInt(defaultMessageBytes),
    // Delivery webhooks go to public https addresses only; these open loopback and http for local work.
    WEBHOOK_ALLOW_HTTP: z.enum(["true", "false"]).default("false"),
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: z.enum(["true", "false"]).default("false"),
    STATUS_RETENTION_DAYS: positiveInt(30),
    FAILED_MESSAGE_RETENTION_DAYS: positiveInt(7),
    MAILBOX_MESSAGE_WINDOW_SECONDS: positiveInt(60),
    MAILBOX_CONCURRENCY: z.coerce.number().int().positive().optional(),
    MAILBOX_LIMITS: jsonText(
      z.record(
        z.string(),
        z.strictObject({
          messagesPerMinute: z.number().int().positive().optional(),
          recipientsPerDay: z.number().int().positive().optional(),
          concurrency: z.number().int().positive().optional(),
        }),
      ),
    ).optional(),
    PACING_SAFETY_MARGIN_PERCENT: z.coerce.number().min(0).max(90).default(0),
    PACING_CLOCK_SKEW_MS: z.coerce.number().int().nonnegative().default(1000),
    PACING_LEASE_SECONDS: positiveInt(300),
    // Even spacing (one send per window / limit) instead of the whole rolling window at once (docs/pacing.md).
    PACING_SMOOTH: z.enum(["true", "false"]).default("false"),
  })
  .superRefine((env, ctx) => {
    const policy = {
      allowHttp: env.WEBHOOK_ALLOW_HTTP === "true",
      allowPrivateNetworks: env.WEBHOOK_ALLOW_PRIVATE_NETWORKS === "true",
    };
    env.MAILHOOK_CLIENTS.forEach((client, index) => {
      const problem = client.callbackUrl && urlProblem(client.callbackUrl, policy);
      if (problem) {
        ctx.addIssue({ code: "custom", path: ["MAILHOOK_CLIENTS", index, "callbackUrl"], message: problem });
      }
    });
    const uses = (t: TransportName) => env.MAILHOOK_CLIENTS.some((c) => c.transport === t);
    const require = (name: keyof typeof env, because: string) => {
      if (env[name] === undefined)
        ctx.addIssue({ code: "custom", path: [name], message: `is required ${because}` });
    };
    const needsEntra =
      uses("graph") ||
      (uses("smtp") && env.SMTP_AUTH === "oauth2") ||
      (uses("hve") && !hvePasswordsCoverEveryAccount(env.MAILHOOK_CLIENTS, env.HVE_PASSWORDS));
    if (needsEntra) {
      const because =
        "when a client uses graph, smtp with SMTP_AUTH=oauth2, or hve with an account that has no HVE_PASSWORDS entry";
      require("ENTRA_TENANT_ID", because);
      require("ENTRA_CLIENT_ID", because);
      if (!env.ENTRA_CLIENT_SECRET && !env.ENTRA_CLIENT_CERTIFICATE && !env.ENTRA_CLIENT_CERTIFICATE_PATH) {
        ctx.addIssue({
          code: "custom",
          path: ["ENTRA_CLIENT_SECRET"],
          message: `or ENTRA_CLIENT_CERTIFICATE or ENTRA_CLIENT_CERTIFICATE_PATH is required ${because}`,
        });
      }
    }
    for (const name of ["ENTRA_CLIENT_CERTIFICATE", "RELAY_CLIENT_CERTIFICATE"] as const) {
      if (env[name] && env[`${name}_PATH`])
        ctx.addIssue({ code: "custom", path: [name], message: `set it or ${name}_PATH, not both` });
    }
    if (uses("smtp") && env.SMTP_AUTH === "basic") require("SMTP_PASSWORDS", "when SMTP_AUTH=basic");
    if (uses("direct") || uses("relay")) {
      require("MX_ENDPOINT", "when a client uses direct or relay");
      require("ACCEPTED_DOMAINS", "when a client uses direct or relay");
    }
    // HVE delivers to the tenant's own recipients only: intake must know which domains those are.
    if (uses("hve")) require("ACCEPTED_DOMAINS", "when a client uses hve (internal recipients only)");
  });

/** Every app setting the schema reads, by name (test/unit/infra-settings.test.ts holds infra/ to them). */
export const settingNames: readonly string[] = Object.keys(envSchema.shape);
/**
 * True when every HVE account the hve clients can send as has a password (or "*" covers them all), so no
 * client needs OAuth; a sender pattern (`*@contoso.com`) names no account, so it needs "*" or OAuth.
 */
function hvePasswordsCoverEveryAccount(
  clients: readonly { transport: TransportName; senders: string[]; defaultSender?: string }[],
  passwords: Record<string, string> | undefined,
): boolean {
  if (!passwords) return false;
  if (passwords["*"]) return true;
  const known = new Set(Object.keys(passwords).map((m) => m.toLowerCase()));
  return clients
    .filter((c) => c.transport === "hve")
    .flatMap((c) => c.senders)
    .every((sender) => !sender.includes("*") && known.has(sender.toLowerCase()));
}

/** The app registration (`ENTRA_*` settings). */
export interface EntraSettings {
  tenantId: string;
  clientId: string;
  /** A client secret, or else the PEM file with the certificate and its RSA key. */
  clientSecret?: string;
  clientCertificatePath?: string;
  /** The same PEM as text (or its base64), from a Key Vault reference in Azure; instead of the path. */
  clientCertificate?: string;
  /** https://login.microsoftonline.com, or a national cloud's sign-in host. */
  authorityHost: string;
}

/** Where messages, queues and status records live: a connection string, or service URIs with a managed identity. */
export type StorageSettings =
  | { kind: "connectionString"; connectionString: string }
  | { kind: "identity"; blobUri: string; queueUri: string; tableUri: string; clientId?: string };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`mailhook cannot start; fix these settings:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment (app settings in Azure); throws a ConfigError listing every problem at once. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = envSchema.safeParse(present);
  // Checked outside the schema so it is reported even when other settings are invalid too.
  const storageProblems =
    present.AzureWebJobsStorage ||
    present.AzureWebJobsStorage__accountName ||
    (present.AzureWebJobsStorage__blobServiceUri &&
      present.AzureWebJobsStorage__queueServiceUri &&
      present.AzureWebJobsStorage__tableServiceUri)
      ? []
      : [
          "AzureWebJobsStorage: is required: a storage connection string, or AzureWebJobsStorage__accountName " +
            "(or the three AzureWebJobsStorage__{blob,queue,table}ServiceUri settings) for identity-based access",
        ];
  // A reference the platform left unresolved is reported as such, not as the setting's format error.
  const unresolved = unresolvedKeyVaultReferences(env);
  if (!parsed.success || storageProblems.length > 0 || unresolved.problems.length > 0) {
    throw new ConfigError([
      ...storageProblems,
      ...unresolved.problems,
      ...(parsed.error?.issues ?? [])
        .filter((issue) => !unresolved.names.has(String(issue.path[0])))
        .map((issue) => {
          const [name, ...rest] = issue.path.map(String);
          const where = rest.length > 0 ? `${name} [${rest.join(".")}]` : (name ?? "settings");
          return `${where}: ${issue.message}`;
        }),
    ]);
  }
  return settingsFrom(parsed.data);
}

/** Validated settings; built once at start-up and passed down. `Config` is this function's result type. */
function settingsFrom(e: z.output<typeof envSchema>) {
  const storage: StorageSettings = e.AzureWebJobsStorage
    ? { kind: "connectionString", connectionString: e.AzureWebJobsStorage }
    : {
        kind: "identity",
        blobUri:
          e.AzureWebJobsStorage__blobServiceUri ?? serviceUri(e.AzureWebJobsStorage__accountName, "blob"),
        queueUri:
          e.AzureWebJobsStorage__queueServiceUri ?? serviceUri(e.AzureWebJobsStorage__accountName, "queue"),
        tableUri:
          e.AzureWebJobsStorage__tableServiceUri ?? serviceUri(e.AzureWebJobsStorage__accountName, "table"),
        clientId: e.AzureWebJobsStorage__clientId,
      };
  const entra: EntraSettings | undefined =
    e.ENTRA_TENANT_ID && e.ENTRA_CLIENT_ID
      ? {
          tenantId: e.ENTRA_TENANT_ID,
          clientId: e.ENTRA_CLIENT_ID,
          clientSecret: e.ENTRA_CLIENT_SECRET,
          clientCertificatePath: e.ENTRA_CLIENT_CERTIFICATE_PATH,
          clientCertificate: e.ENTRA_CLIENT_CERTIFICATE,
          authorityHost: e.ENTRA_AUTHORITY_HOST,
        }
      : undefined;
  const pacing: PacingSettings = {
    messagesPerWindow: e.MAILBOX_MESSAGES_PER_MINUTE,
    messageWindowMs: e.MAILBOX_MESSAGE_WINDOW_SECONDS * 1000,
    recipientsPerWindow: e.MAILBOX_RECIPIENTS_PER_DAY,
    concurrency: e.MAILBOX_CONCURRENCY,
    mailboxes: Object.fromEntries(
      Object.entries(e.MAILBOX_LIMITS ?? {}).map(([mailbox, o]) => [
        mailbox.toLowerCase(),
        {
          messagesPerWindow: o.messagesPerMinute,
          recipientsPerWindow: o.recipientsPerDay,
          concurrency: o.concurrency,
        },
      ]),
    ),
    safetyMarginPercent: e.PACING_SAFETY_MARGIN_PERCENT,
    clockSkewMs: e.PACING_CLOCK_SKEW_MS,
    leaseMs: e.PACING_LEASE_SECONDS * 1000,
    smooth: e.PACING_SMOOTH === "true",
    hve: {
      messagesPerWindow: e.HVE_MESSAGES_PER_MINUTE,
      recipientsPerWindow: e.HVE_RECIPIENTS_PER_DAY,
      concurrency: e.HVE_CONCURRENCY,
    },
    graphUploadBytesPerWindow: e.GRAPH_UPLOAD_MB_PER_5_MINUTES * 1_000_000,
  };
  return {
    storage,
    clients: e.MAILHOOK_CLIENTS,
    /** The app registration used by graph, and by smtp with OAuth (client credentials). */
    ...(entra ? { entra } : {}),
    graphEndpoint: e.GRAPH_ENDPOINT,
    smtp: { host: e.SMTP_HOST, port: e.SMTP_PORT, auth: e.SMTP_AUTH, passwords: e.SMTP_PASSWORDS ?? {} },
    /** High Volume Email: the endpoint, the HVE accounts' passwords (others use OAuth) and HVE's own limits. */
    hve: {
      host: e.HVE_HOST,
      port: e.HVE_PORT,
      passwords: e.HVE_PASSWORDS ?? {},
      recipientsPerMessage: e.HVE_RECIPIENTS_PER_MESSAGE,
      messageBytes: e.HVE_MAX_MESSAGE_BYTES,
      concurrency: e.HVE_CONCURRENCY,
    },
    /**
     * The tenant as a whole: its accepted domains (recipients outside them are external) and how often a
     * tenant over its external recipient limit tries again.
     */
    tenant: {
      acceptedDomains: e.ACCEPTED_DOMAINS,
      externalProbeMs: Math.round(e.TENANT_EXTERNAL_PROBE_MINUTES * 60_000),
    },
    /** Direct Send and relay: the tenant's MX endpoint (`endpoint` is its host name; `port` 25 unless set). */
    ...(e.MX_ENDPOINT && e.ACCEPTED_DOMAINS
      ? {
          mx: {
            endpoint: e.MX_ENDPOINT.host,
            port: e.MX_ENDPOINT.port,
            acceptedDomains: e.ACCEPTED_DOMAINS,
            relayClientCertificatePath: e.RELAY_CLIENT_CERTIFICATE_PATH,
            relayClientCertificate: e.RELAY_CLIENT_CERTIFICATE,
          },
        }
      : {}),
    /** Where delivery webhooks may go (shared/webhooks). */
    webhooks: {
      allowHttp: e.WEBHOOK_ALLOW_HTTP === "true",
      allowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS === "true",
    } satisfies DestinationPolicy,
    /** How long what is stored is kept (shared/app/purgeExpired.ts). */
    retention: {
      /** Status records of final messages (sent, failed, cancelled), after their last change. */
      statusMs: e.STATUS_RETENTION_DAYS * dayMs,
      /** The content of failed messages, kept so they can be retried. */
      failedMessageMs: e.FAILED_MESSAGE_RETENTION_DAYS * dayMs,
    },
    limits: {
      /** Exchange Online default: 500 recipients per message. */
      recipientsPerMessage: e.MAX_RECIPIENTS_PER_MESSAGE,
      /** Exchange Online default: 35 MB per message. */
      messageBytes: e.MAX_MESSAGE_BYTES,
    },
    /** How dispatchers pace each sending mailbox (shared/pacing). */
    pacing,
  };
}

export type Config = ReturnType<typeof settingsFrom>;

const dayMs = 24 * 3600 * 1000;

function serviceUri(account: string | undefined, service: "blob" | "queue" | "table"): string {
  return `https://${account}.${service}.core.windows.net`;
}
