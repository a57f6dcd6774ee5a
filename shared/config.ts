import { isIP } from "node:net";
import { z } from "zod";
import { addressSchema, senderAllowed, senderPatternSchema } from "./message/address.js";

export const transportNames = ["graph", "smtp", "direct", "relay"] as const;
export type TransportName = (typeof transportNames)[number];

const domainSchema = z
  .string()
  .regex(/^(?!-)[a-z0-9-]+(\.[a-z0-9-]+)+$/i, "must be a DNS domain such as contoso.com")
  .transform((d) => d.toLowerCase());

export const clientSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1-64 letters, digits, '.', '_' or '-'"),
    keySha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "must be the lowercase hex SHA-256 of the key (64 characters)"),
    senders: z.array(senderPatternSchema).min(1, "must list at least one sender"),
    defaultSender: addressSchema.optional(),
    transport: z.enum(transportNames),
    recipientDomains: z.array(domainSchema).optional(),
    saveToSentItems: z.boolean().optional(),
  })
  .refine((c) => c.defaultSender === undefined || senderAllowed(c.senders, c.defaultSender), {
    message: "defaultSender is not one of the client's senders",
    path: ["defaultSender"],
  });

/** One caller of the API, as configured in `MAILHOOK_CLIENTS`. */
export type Client = z.infer<typeof clientSchema>;

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

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const hostName = z.string().refine((host) => isIP(host) === 0, {
  message: "must be a DNS name, not an IP address (Microsoft 365 endpoints change addresses)",
});

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
    AzureWebJobsStorage: z.string().min(1, "is required (a storage connection string)"),
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
    ENTRA_AUTHORITY_HOST: z.url({ protocol: /^https$/ }).default("https://login.microsoftonline.com"),
    GRAPH_ENDPOINT: z.url({ protocol: /^https$/ }).default("https://graph.microsoft.com"),
    SMTP_HOST: hostName.default("smtp.office365.com"),
    SMTP_PORT: smtpPort.default(587),
    SMTP_AUTH: z.enum(["oauth2", "basic"]).default("oauth2"),
    SMTP_PASSWORDS: jsonText(z.record(z.string(), z.string().min(1))).optional(),
    MX_ENDPOINT: hostName.optional(),
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
    MAILBOX_MESSAGES_PER_MINUTE: positiveInt(30),
    MAILBOX_RECIPIENTS_PER_DAY: positiveInt(10_000),
    MAX_RECIPIENTS_PER_MESSAGE: positiveInt(500),
    MAX_MESSAGE_BYTES: positiveInt(35 * 1024 * 1024),
  })
  .superRefine((env, ctx) => {
    const uses = (t: TransportName) => env.MAILHOOK_CLIENTS.some((c) => c.transport === t);
    const require = (name: keyof typeof env, because: string) => {
      if (env[name] === undefined)
        ctx.addIssue({ code: "custom", path: [name], message: `is required ${because}` });
    };
    const needsEntra = uses("graph") || (uses("smtp") && env.SMTP_AUTH === "oauth2");
    if (needsEntra) {
      const because = "when a client uses graph, or smtp with SMTP_AUTH=oauth2";
      require("ENTRA_TENANT_ID", because);
      require("ENTRA_CLIENT_ID", because);
      if (!env.ENTRA_CLIENT_SECRET && !env.ENTRA_CLIENT_CERTIFICATE_PATH) {
        ctx.addIssue({
          code: "custom",
          path: ["ENTRA_CLIENT_SECRET"],
          message: `or ENTRA_CLIENT_CERTIFICATE_PATH is required ${because}`,
        });
      }
    }
    if (uses("smtp") && env.SMTP_AUTH === "basic") require("SMTP_PASSWORDS", "when SMTP_AUTH=basic");
    if (uses("direct") || uses("relay")) {
      require("MX_ENDPOINT", "when a client uses direct or relay");
      require("ACCEPTED_DOMAINS", "when a client uses direct or relay");
    }
  });

/** Validated settings; built once at start-up and passed down. */
export interface Config {
  storageConnection: string;
  clients: Client[];
  entra?: {
    tenantId: string;
    clientId: string;
    clientSecret?: string;
    clientCertificatePath?: string;
    authorityHost: string;
  };
  graphEndpoint: string;
  smtp: { host: string; port: number; auth: "oauth2" | "basic"; passwords: Record<string, string> };
  mx?: { endpoint: string; acceptedDomains: string[]; relayClientCertificatePath?: string };
  limits: {
    /** Exchange Online: 30 messages per rolling minute per sending mailbox. */
    messagesPerMinute: number;
    /** Exchange Online: 10,000 recipients per rolling 24 hours per sending mailbox. */
    recipientsPerDay: number;
    /** Exchange Online default: 500 recipients per message. */
    recipientsPerMessage: number;
    /** Exchange Online default: 35 MB per message. */
    messageBytes: number;
  };
}

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
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const [name, ...rest] = issue.path.map(String);
        const where = rest.length > 0 ? `${name} [${rest.join(".")}]` : (name ?? "settings");
        return `${where}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  return {
    storageConnection: e.AzureWebJobsStorage,
    clients: e.MAILHOOK_CLIENTS,
    ...(e.ENTRA_TENANT_ID && e.ENTRA_CLIENT_ID
      ? {
          entra: {
            tenantId: e.ENTRA_TENANT_ID,
            clientId: e.ENTRA_CLIENT_ID,
            clientSecret: e.ENTRA_CLIENT_SECRET,
            clientCertificatePath: e.ENTRA_CLIENT_CERTIFICATE_PATH,
            authorityHost: e.ENTRA_AUTHORITY_HOST,
          },
        }
      : {}),
    graphEndpoint: e.GRAPH_ENDPOINT,
    smtp: { host: e.SMTP_HOST, port: e.SMTP_PORT, auth: e.SMTP_AUTH, passwords: e.SMTP_PASSWORDS ?? {} },
    ...(e.MX_ENDPOINT && e.ACCEPTED_DOMAINS
      ? {
          mx: {
            endpoint: e.MX_ENDPOINT,
            acceptedDomains: e.ACCEPTED_DOMAINS,
            relayClientCertificatePath: e.RELAY_CLIENT_CERTIFICATE_PATH,
          },
        }
      : {}),
    limits: {
      messagesPerMinute: e.MAILBOX_MESSAGES_PER_MINUTE,
      recipientsPerDay: e.MAILBOX_RECIPIENTS_PER_DAY,
      recipientsPerMessage: e.MAX_RECIPIENTS_PER_MESSAGE,
      messageBytes: e.MAX_MESSAGE_BYTES,
    },
  };
}
