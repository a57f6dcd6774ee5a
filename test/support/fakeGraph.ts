import { constants, createPublicKey, randomBytes, randomUUID, verify, X509Certificate } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { Readable, Transform } from "node:stream";
import { buffer } from "node:stream/consumers";
import { Joiner, Splitter, type SplitterChunk } from "@zone-eu/mailsplit";
import { type AddressObject, simpleParser } from "mailparser";
import { z } from "zod";

const MiB = 1024 * 1024;
/** Graph's caps (https://learn.microsoft.com/graph/outlook-large-attachments): 4 MB a request, sessions from 3 MB. */
const requestMaxBytes = 4 * MiB;
const uploadMinBytes = 3 * MiB;
const chunkMultipleBytes = 320 * 1024;
export const outlookResource = "https://outlook.office365.com";

export interface FakeGraphOptions {
  tls: { cert: string; key: string };
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  /** PEM certificate whose key signs client assertions (certificate credential). */
  clientCertificate?: string;
  /** The client secret has expired: the token endpoint answers AADSTS7000222 for it. */
  secretExpired?: boolean;
  /** Application permissions granted to the app (token roles); default Mail.Send and Mail.ReadWrite. */
  roles?: string[];
  /** Mailboxes that exist; any address when absent. */
  mailboxes?: string[];
  tokenLifetimeSeconds?: number;
  /** Delay before answering sendMail and a draft's send (benchmark: a provider's latency). */
  sendDelayMs?: number;
  /** Keep what was accepted (off in benchmarks). Default true. */
  record?: boolean;
  /** Faults drawn per request when none is scripted (the chaos test's random 429s, 503s and resets). */
  chaos?: (method: string, path: string) => Fault | undefined;
  /**
   * How long after `send` the Sent Items copy appears (GET answers 404 until then): "the copy of the message
   * is not created until the message successfully sends, which may take time" (Graph, immutable ids).
   */
  sentCopyDelayMs?: number;
  /**
   * Outlook's upload limit per app and mailbox: request bytes of POST, PUT and PATCH in any rolling window
   * (https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits: 150 MB per 5 minutes, the
   * default here); over it, 429 with Retry-After.
   */
  uploadLimit?: { bytes: number; windowMs: number };
}

/**
 * A scripted failure for the next matching request(s): an HTTP error or a connection reset instead of the
 * answer, or (`afterAccept`) the request carried out and then its answer replaced by a reset or an error
 * status: the provider took the message, the caller never heard so.
 */
export interface Fault {
  method?: string;
  path?: RegExp;
  status?: number;
  code?: string;
  message?: string;
  retryAfter?: string;
  reset?: boolean;
  /** Never answer (the connection stays open until the caller gives up). */
  hang?: boolean;
  afterAccept?: "reset" | number;
  times?: number;
}

export interface AcceptedAttachment {
  name: string;
  contentType?: string;
  bytes: Buffer;
  via: "inline" | "post" | "uploadSession" | "mime";
  isInline?: boolean;
  contentId?: string;
}

/** A message the fake accepted for sending, as a test would check it. */
export interface AcceptedMessage {
  mailbox: string;
  /** sendMail with JSON, a draft then send, or sendMail with a MIME body. */
  via: "sendMail" | "draft" | "mime";
  /** The draft's id (its Sent Items copy's too, when immutable). */
  id?: string;
  message: z.infer<typeof draftSchema>;
  saveToSentItems?: boolean;
  attachments: AcceptedAttachment[];
  /** A MIME sendMail: the MIME as posted (decoded from base64), Bcc header included. */
  mime?: Buffer;
  /**
   * A MIME sendMail: the MIME as Exchange sends it on to the recipients, without the Bcc header ("MIME
   * writers MUST NOT copy Bcc recipients to the MIME Bcc header", [MS-OXCMAIL] 2.1.3.1.1.2).
   */
  delivered?: Buffer;
}

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  authorization: boolean;
  bytes: number;
  contentRange?: string;
}

const recipient = z.strictObject({
  emailAddress: z.strictObject({ address: z.string(), name: z.string().optional() }),
});
const fileAttachment = z.strictObject({
  "@odata.type": z.literal("#microsoft.graph.fileAttachment"),
  name: z.string().min(1),
  contentType: z.string().optional(),
  contentBytes: z.base64(),
  isInline: z.boolean().optional(),
  contentId: z.string().optional(),
});
const messageSchema = z.strictObject({
  subject: z.string(),
  body: z.strictObject({ contentType: z.enum(["Text", "HTML", "text", "html"]), content: z.string() }),
  from: recipient.optional(),
  toRecipients: z.array(recipient).default([]),
  ccRecipients: z.array(recipient).default([]),
  bccRecipients: z.array(recipient).default([]),
  replyTo: z.array(recipient).default([]),
  importance: z.enum(["low", "normal", "high"]).optional(),
  internetMessageHeaders: z.array(z.strictObject({ name: z.string(), value: z.string() })).optional(),
  attachments: z.array(fileAttachment).optional(),
});
const sendMailSchema = z.strictObject({ message: messageSchema, saveToSentItems: z.boolean().optional() });
/** A draft may set its internetMessageId ("Updatable only if isDraft is true", message resource). */
const draftSchema = messageSchema.extend({
  internetMessageId: z
    .string()
    .regex(/^<[^<>\s]+@[^<>\s]+>$/)
    .optional(),
});
const uploadSessionSchema = z.strictObject({
  AttachmentItem: z.strictObject({
    attachmentType: z.literal("file"),
    name: z.string().min(1),
    size: z.number().int().positive(),
    contentType: z.string().optional(),
    isInline: z.boolean().optional(),
    contentId: z.string().optional(),
  }),
});
const address = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface IssuedToken {
  resource: string;
  roles: string[];
  expiresAtMs: number;
}
/** A message item in a mailbox: a draft, or (after send) its copy in Sent Items. */
interface Draft {
  mailbox: string;
  message: z.infer<typeof draftSchema>;
  attachments: AcceptedAttachment[];
  isDraft: boolean;
  /** Created with `Prefer: IdType="ImmutableId"`: the id survives the move to Sent Items. */
  immutable: boolean;
  /** When its Sent Items copy can be read (epoch ms). */
  visibleAtMs: number;
}
interface UploadSession {
  draftId: string;
  name: string;
  contentType?: string;
  isInline?: boolean;
  contentId?: string;
  size: number;
  token: string;
  received: number;
  chunks: Buffer[];
}

/**
 * A loopback Microsoft Graph + Entra ID token endpoint (HTTPS on localhost): OpenID metadata and the client
 * credentials grant (secret or certificate assertion) for msal-node, and the mail calls mailhook makes,
 * answering the documented way and refusing malformed requests. Records what it accepted.
 */
export async function startFakeGraph(options: FakeGraphOptions) {
  const tokens = new Map<string, IssuedToken>();
  const drafts = new Map<string, Draft>();
  const sessions = new Map<string, UploadSession>();
  const faults: Fault[] = [];
  const accepted: AcceptedMessage[] = [];
  const requests: RecordedRequest[] = [];
  const tokenRequests: { resource: string; credential: "secret" | "certificate" }[] = [];
  const deletedDrafts: string[] = [];
  /** Requests about message items that came without `Prefer: IdType="ImmutableId"`. */
  const mutableIdRequests: string[] = [];
  // What an admin has granted now; a token keeps the roles of the moment it was issued, as Entra's do.
  let roles = [...(options.roles ?? ["Mail.Send", "Mail.ReadWrite"])];
  const uploadLimit = options.uploadLimit ?? { bytes: 150_000_000, windowMs: 5 * 60_000 };
  const uploads = new Map<string, [number, number][]>(); // mailbox → [time, bytes]
  let uploadThrottles = 0;
  const sessionMailbox = new Map<string, string>();
  /** Counts `bytes` uploaded for `mailbox` now; false when that would pass the limit (nothing counted then). */
  const takeUpload = (mailbox: string, bytes: number): boolean => {
    const now = Date.now();
    const recent = (uploads.get(mailbox) ?? []).filter(([at]) => at > now - uploadLimit.windowMs);
    const used = recent.reduce((sum, [, b]) => sum + b, 0);
    if (used + bytes > uploadLimit.bytes) {
      uploadThrottles++;
      uploads.set(mailbox, recent);
      return false;
    }
    uploads.set(mailbox, [...recent, [now, bytes]]);
    return true;
  };
  const overUploadLimit = () =>
    new HttpError(429, "ApplicationThrottled", "Application is over its MailboxUploadVolume limit.");
  const record = options.record ?? true;
  /** Messages accepted for sending, counted even when not recorded (benchmarks). */
  let sends = 0;
  let url = "";

  const server: Server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    handle(req, res).catch((error) => {
      const e = error instanceof HttpError ? error : new HttpError(500, "InternalServerError", String(error));
      if (!res.headersSent) json(res, e.status, { error: { code: e.code, message: e.message } });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = new URL(req.url ?? "/", url);
    const method = req.method ?? "GET";
    const path = target.pathname;
    const fault = takeFault(method, path) ?? options.chaos?.(method, path);
    const body = await readBody(req, path.startsWith("/upload/") ? requestMaxBytes : requestMaxBytes);
    const log: RecordedRequest = {
      method,
      path,
      status: 0,
      authorization: req.headers.authorization !== undefined,
      bytes: body?.length ?? -1,
      ...(req.headers["content-range"] ? { contentRange: String(req.headers["content-range"]) } : {}),
    };
    requests.push(log);
    res.on("finish", () => {
      log.status = res.statusCode;
    });
    if (fault?.reset) {
      req.socket.destroy();
      return;
    }
    if (fault?.hang) return;
    if (fault?.afterAccept !== undefined) loseAnswer(req, res, fault.afterAccept);
    else if (fault) {
      json(
        res,
        fault.status ?? 503,
        { error: { code: fault.code ?? "ServiceUnavailable", message: fault.message ?? "" } },
        {
          ...(fault.retryAfter ? { "retry-after": fault.retryAfter } : {}),
        },
      );
      return;
    }
    if (body === undefined)
      throw new HttpError(413, "RequestEntityTooLarge", "The request is larger than 4 MB.");

    const tenant = options.tenantId;
    if (method === "GET" && path === `/${tenant}/v2.0/.well-known/openid-configuration`) {
      return json(res, 200, {
        issuer: `${url}/${tenant}/v2.0`,
        token_endpoint: `${url}/${tenant}/oauth2/v2.0/token`,
        authorization_endpoint: `${url}/${tenant}/oauth2/v2.0/authorize`,
        jwks_uri: `${url}/${tenant}/discovery/v2.0/keys`,
      });
    }
    if (method === "POST" && path === `/${tenant}/oauth2/v2.0/token`) return tokenEndpoint(body, res);
    if (path.startsWith("/upload/") && method === "PUT") {
      const mailbox = sessionMailbox.get(path.slice("/upload/".length)) ?? "";
      if (!takeUpload(mailbox, body.length)) return throttleUpload(res);
      return uploadChunk(req, target, body, res);
    }
    if (path.startsWith("/v1.0/")) return graph(req, method, path, body, res);
    throw new HttpError(404, "NotFound", `no route for ${method} ${path}`);
  }

  function tokenEndpoint(body: Buffer, res: ServerResponse) {
    const form = new URLSearchParams(body.toString("utf8"));
    const fail = (status: number, error: string, description: string) =>
      json(res, status, { error, error_description: description, error_codes: [] });
    if (form.get("grant_type") !== "client_credentials")
      return fail(400, "unsupported_grant_type", "AADSTS70003");
    if (form.get("client_id") !== options.clientId) {
      return fail(
        400,
        "unauthorized_client",
        `AADSTS700016: Application with identifier '${form.get("client_id")}' was not found.`,
      );
    }
    const scope = form.get("scope") ?? "";
    const resource = scope
      .split(" ")
      .find((s) => s.endsWith("/.default"))
      ?.slice(0, -"/.default".length);
    if (!resource || (resource !== url && resource !== outlookResource)) {
      return fail(400, "invalid_scope", `AADSTS70011: The provided value for scope ${scope} is not valid.`);
    }
    let credential: "secret" | "certificate";
    if (form.has("client_secret")) {
      if (form.get("client_secret") !== options.clientSecret) {
        return fail(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
      }
      if (options.secretExpired) {
        return fail(
          401,
          "invalid_client",
          `AADSTS7000222: The provided client secret keys for app '${options.clientId}' are expired.`,
        );
      }
      credential = "secret";
    } else if (
      form.get("client_assertion_type") === "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" &&
      assertionValid(form.get("client_assertion") ?? "")
    ) {
      credential = "certificate";
    } else {
      return fail(401, "invalid_client", "AADSTS700027: Client assertion failed signature validation.");
    }
    tokenRequests.push({ resource, credential });
    const lifetime = options.tokenLifetimeSeconds ?? 3600;
    // Shaped like Entra's access tokens: a JWT whose payload names the audience and the app's roles
    // (the signature part is random; this fake checks tokens by lookup, not by signature).
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const token = [
      part({ typ: "JWT", alg: "RS256" }),
      part({
        aud: resource,
        tid: options.tenantId,
        roles,
        exp: Math.floor(Date.now() / 1000) + lifetime,
      }),
      randomBytes(24).toString("base64url"),
    ].join(".");
    tokens.set(token, { resource, roles: [...roles], expiresAtMs: Date.now() + lifetime * 1000 });
    json(res, 200, {
      token_type: "Bearer",
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: token,
    });
  }

  function assertionValid(jwt: string): boolean {
    if (!options.clientCertificate) return false;
    const [h = "", p = "", s = ""] = jwt.split(".");
    const header = JSON.parse(Buffer.from(h, "base64url").toString()) as Record<string, string>;
    const claims = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, string | number>;
    const cert = new X509Certificate(options.clientCertificate);
    const thumbprint = Buffer.from(cert.fingerprint256.replaceAll(":", ""), "hex").toString("base64url");
    const signatureOk = verify(
      "sha256",
      Buffer.from(`${h}.${p}`),
      {
        key: createPublicKey(cert.publicKey.export({ format: "pem", type: "spki" })),
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      },
      Buffer.from(s, "base64url"),
    );
    return (
      header.alg === "PS256" &&
      header["x5t#S256"] === thumbprint &&
      signatureOk &&
      claims.aud === `${url}/${options.tenantId}/oauth2/v2.0/token` &&
      claims.iss === options.clientId &&
      claims.sub === options.clientId &&
      Number(claims.exp) * 1000 > Date.now()
    );
  }

  /** Checks a bearer token the way Graph does: present, issued here, unexpired, for this resource. */
  function tokenFor(authorization: string | undefined, resource: string): IssuedToken {
    const token = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
    if (!token) throw new HttpError(401, "InvalidAuthenticationToken", "Access token is empty.");
    const issued = tokens.get(token);
    if (!issued || issued.expiresAtMs < Date.now() || issued.resource !== resource) {
      throw new HttpError(
        401,
        "InvalidAuthenticationToken",
        "Access token validation failure. Invalid audience.",
      );
    }
    return issued;
  }

  async function graph(
    req: IncomingMessage,
    method: string,
    path: string,
    body: Buffer,
    res: ServerResponse,
  ) {
    const issued = tokenFor(req.headers.authorization, url);
    const match = /^\/v1\.0\/users\/([^/]+)(\/.*)$/.exec(path);
    if (!match) throw new HttpError(400, "BadRequest", "Resource not found for the segment.");
    const mailbox = decodeURIComponent(match[1] ?? "").toLowerCase();
    const rest = match[2] ?? "";
    if (["POST", "PUT", "PATCH"].includes(method) && !takeUpload(mailbox, body.length))
      return throttleUpload(res);
    if (options.mailboxes && !options.mailboxes.map((m) => m.toLowerCase()).includes(mailbox)) {
      throw new HttpError(404, "ErrorInvalidUser", `The requested user '${mailbox}' is invalid.`);
    }
    const need = (role: string) => {
      if (!issued.roles.includes(role)) {
        throw new HttpError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.");
      }
    };
    const parse = <T extends z.ZodType>(schema: T): z.infer<T> => {
      if (!/^application\/json\b/.test(req.headers["content-type"] ?? "")) {
        throw new HttpError(415, "UnsupportedMediaType", "Content-Type must be application/json.");
      }
      let data: unknown;
      try {
        data = JSON.parse(body.toString("utf8"));
      } catch {
        throw new HttpError(400, "RequestBodyRead", "The request body is not valid JSON.");
      }
      const parsed = schema.safeParse(data);
      if (!parsed.success)
        throw new HttpError(400, "RequestBodyRead", `Invalid request body: ${parsed.error.message}`);
      return parsed.data;
    };
    const draftMatch = /^\/messages\/([^/]+)(\/.*)?$/.exec(rest);

    if (
      method === "POST" &&
      rest === "/sendMail" &&
      /^text\/plain\b/.test(req.headers["content-type"] ?? "")
    ) {
      need("Mail.Send");
      await sendMime(mailbox, body);
      res.writeHead(202).end();
      return;
    }
    if (method === "POST" && rest === "/sendMail") {
      need("Mail.Send");
      const request = parse(sendMailSchema);
      checkMessage(request.message);
      if (options.sendDelayMs) await new Promise((resolve) => setTimeout(resolve, options.sendDelayMs));
      sends++;
      if (record) {
        const { attachments = [], ...message } = request.message;
        accepted.push({
          mailbox,
          via: "sendMail",
          message,
          saveToSentItems: request.saveToSentItems,
          attachments: attachments.map((a) => ({
            name: a.name,
            contentType: a.contentType,
            bytes: Buffer.from(a.contentBytes, "base64"),
            via: "inline" as const,
            ...(a.isInline ? { isInline: true } : {}),
            ...(a.contentId ? { contentId: a.contentId } : {}),
          })),
        });
      }
      res.writeHead(202).end();
      return;
    }
    const immutable = /^IdType="ImmutableId"$/i.test(String(req.headers.prefer ?? "").trim());
    if (method === "POST" && rest === "/messages") {
      need("Mail.ReadWrite");
      const message = parse(draftSchema);
      checkMessage(message, false);
      if (!immutable) mutableIdRequests.push(`${method} ${rest}`);
      const id = newItemId(immutable);
      const { attachments = [], ...fields } = message;
      drafts.set(id, {
        mailbox,
        message: fields,
        attachments: attachments.map((a) => ({
          name: a.name,
          bytes: Buffer.from(a.contentBytes, "base64"),
          via: "post",
          ...(a.isInline ? { isInline: true } : {}),
          ...(a.contentId ? { contentId: a.contentId } : {}),
        })),
        isDraft: true,
        immutable,
        visibleAtMs: 0,
      });
      return json(res, 201, {
        id,
        isDraft: true,
        subject: message.subject,
        internetMessageId: fields.internetMessageId,
      });
    }
    if (!draftMatch) throw new HttpError(400, "BadRequest", `Unsupported request ${method} ${rest}`);
    const draftId = decodeURIComponent(draftMatch[1] ?? "");
    const draft = drafts.get(draftId);
    if (!draft || draft.mailbox !== mailbox || draft.visibleAtMs > Date.now()) {
      throw new HttpError(404, "ErrorItemNotFound", "The specified object was not found in the store.");
    }
    need("Mail.ReadWrite");
    if (!immutable) mutableIdRequests.push(`${method} ${rest}`);
    const action = draftMatch[2] ?? "";
    if (method === "GET" && action === "") {
      return json(res, 200, {
        id: draftId,
        isDraft: draft.isDraft,
        subject: draft.message.subject,
        internetMessageId: draft.message.internetMessageId,
      });
    }
    if (method === "DELETE" && action === "") {
      drafts.delete(draftId);
      deletedDrafts.push(draftId);
      res.writeHead(204).end();
      return;
    }
    // Only a draft takes attachments or can be sent (what Graph answers for a sent item is not documented;
    // a 400 is assumed here).
    if (!draft.isDraft) throw new HttpError(400, "ErrorInvalidRequest", "The message has already been sent.");
    if (method === "POST" && action === "/attachments") {
      const attachment = parse(fileAttachment);
      draft.attachments.push({
        name: attachment.name,
        contentType: attachment.contentType,
        bytes: Buffer.from(attachment.contentBytes, "base64"),
        via: "post",
        ...(attachment.isInline ? { isInline: true } : {}),
        ...(attachment.contentId ? { contentId: attachment.contentId } : {}),
      });
      return json(res, 201, { id: randomUUID(), name: attachment.name });
    }
    if (method === "POST" && action === "/attachments/createUploadSession") {
      const item = parse(uploadSessionSchema).AttachmentItem;
      if (item.size < uploadMinBytes) {
        throw new HttpError(
          400,
          "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
          "Attachment size must be greater than the minimum size.",
        );
      }
      const id = randomUUID();
      const token = randomBytes(16).toString("hex");
      sessionMailbox.set(id, mailbox);
      sessions.set(id, {
        draftId,
        name: item.name,
        contentType: item.contentType,
        ...(item.isInline ? { isInline: true } : {}),
        ...(item.contentId ? { contentId: item.contentId } : {}),
        size: item.size,
        token,
        received: 0,
        chunks: [],
      });
      return json(res, 201, {
        uploadUrl: `${url}/upload/${id}?authtoken=${token}`,
        expirationDateTime: new Date(Date.now() + 15 * 60_000).toISOString(),
        nextExpectedRanges: ["0-"],
      });
    }
    if (method === "POST" && action === "/send") {
      if (body.length > 0) throw new HttpError(400, "ErrorInvalidRequest", "send takes no request body.");
      if (options.sendDelayMs) await new Promise((resolve) => setTimeout(resolve, options.sendDelayMs));
      // The draft moves to Sent Items (send always saves a copy): with an immutable id it keeps its id,
      // otherwise it gets a new one and the old id is gone.
      drafts.delete(draftId);
      sends++;
      const sentId = draft.immutable ? draftId : newItemId(false);
      drafts.set(sentId, {
        ...draft,
        isDraft: false,
        visibleAtMs: Date.now() + (options.sentCopyDelayMs ?? 0),
      });
      if (record)
        accepted.push({
          mailbox,
          via: "draft",
          id: sentId,
          message: draft.message,
          attachments: draft.attachments,
        });
      res.writeHead(202).end();
      return;
    }
    throw new HttpError(400, "BadRequest", `Unsupported request ${method} ${action}`);
  }

  /**
   * sendMail with a MIME body (https://learn.microsoft.com/graph/outlook-send-mime-message): the MIME in
   * base64 as a text/plain body; Graph takes the recipients from the To, Cc and Bcc headers and answers 400
   * ErrorMimeContentInvalidBase64String for a body that is not base64 ("Invalid base64 string for MIME
   * content", user-sendmail), 400 ErrorInvalidRecipients for a message naming no recipient.
   */
  async function sendMime(mailbox: string, body: Buffer): Promise<void> {
    const text = body.toString("latin1").replace(/\r?\n/g, "");
    if (text.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
      throw new HttpError(
        400,
        "ErrorMimeContentInvalidBase64String",
        "Invalid base64 string for MIME content.",
      );
    }
    const mime = Buffer.from(text, "base64");
    const parsed = await simpleParser(mime, { skipImageLinks: true });
    const recipients = (field: AddressObject | AddressObject[] | undefined) =>
      (field === undefined ? [] : Array.isArray(field) ? field : [field])
        .flatMap((o) => o.value)
        .flatMap((a) => (a.group ? a.group : [a]))
        .flatMap((a) =>
          a.address ? [{ emailAddress: { address: a.address, ...(a.name ? { name: a.name } : {}) } }] : [],
        );
    const message = {
      subject: parsed.subject ?? "",
      body: parsed.html
        ? { contentType: "HTML" as const, content: parsed.html }
        : { contentType: "Text" as const, content: parsed.text ?? "" },
      from: recipients(parsed.from)[0],
      toRecipients: recipients(parsed.to),
      ccRecipients: recipients(parsed.cc),
      bccRecipients: recipients(parsed.bcc),
      replyTo: recipients(parsed.replyTo),
    };
    checkMessage(message);
    if (options.sendDelayMs) await new Promise((resolve) => setTimeout(resolve, options.sendDelayMs));
    sends++;
    if (!record) return;
    accepted.push({
      mailbox,
      via: "mime",
      message,
      attachments: parsed.attachments.map((a) => ({
        name: a.filename ?? "",
        contentType: a.contentType,
        bytes: a.content,
        via: "mime" as const,
        ...(a.related ? { isInline: true } : {}),
        ...(a.cid ? { contentId: a.cid } : {}),
      })),
      mime,
      delivered: await withoutBccHeader(mime),
    });
  }

  function checkMessage(message: z.infer<typeof messageSchema>, needsRecipient = true): void {
    const all = [...message.toRecipients, ...message.ccRecipients, ...message.bccRecipients];
    if (needsRecipient && all.length === 0) {
      throw new HttpError(
        400,
        "ErrorInvalidRecipients",
        "At least one recipient is not valid., A message can't be sent because it contains no recipients.",
      );
    }
    const bad = [...all, ...message.replyTo].find((r) => !address.test(r.emailAddress.address));
    if (bad)
      throw new HttpError(
        400,
        "ErrorInvalidRecipients",
        `At least one recipient is not valid., Recipient '${bad.emailAddress.address}' is not resolved.`,
      );
    const headers = message.internetMessageHeaders ?? [];
    const badHeader = headers.find((h) => !/^x-/i.test(h.name));
    if (badHeader || headers.length > 5) {
      throw new HttpError(
        400,
        "InvalidInternetMessageHeader",
        "The internet message header name should start with 'x-' or 'X-', at most 5.",
      );
    }
  }

  function uploadChunk(req: IncomingMessage, target: URL, body: Buffer, res: ServerResponse) {
    const session = sessions.get(target.pathname.slice("/upload/".length));
    if (!session || target.searchParams.get("authtoken") !== session.token) {
      throw new HttpError(404, "ErrorItemNotFound", "The upload session was not found.");
    }
    // The uploadUrl carries its own authorization; a bearer token here is refused.
    if (req.headers.authorization)
      throw new HttpError(401, "InvalidAuthenticationToken", "Authorization header not allowed.");
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers["content-range"] ?? ""));
    if (!range) throw new HttpError(400, "InvalidContentRange", "Content-Range is missing or malformed.");
    const [start, end, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (total !== session.size)
      throw new HttpError(400, "InvalidContentRange", "Total size does not match the session.");
    if (start !== session.received) {
      throw new HttpError(416, "InvalidRange", `Expected range ${session.received}-, got ${start}-${end}.`);
    }
    const length = end - start + 1;
    const last = end === total - 1;
    if (length !== body.length || end >= total || (!last && length % chunkMultipleBytes !== 0)) {
      throw new HttpError(
        400,
        "InvalidChunkSize",
        "Chunks must be multiples of 320 KiB (except the last) and match Content-Range.",
      );
    }
    session.chunks.push(body);
    session.received = end + 1;
    if (!last) {
      return json(res, 200, {
        expirationDateTime: new Date(Date.now() + 15 * 60_000).toISOString(),
        nextExpectedRanges: [`${session.received}-`],
      });
    }
    const draft = drafts.get(session.draftId);
    draft?.attachments.push({
      name: session.name,
      contentType: session.contentType,
      bytes: Buffer.concat(session.chunks),
      via: "uploadSession",
      ...(session.isInline ? { isInline: true } : {}),
      ...(session.contentId ? { contentId: session.contentId } : {}),
    });
    session.chunks = [];
    res.writeHead(201, { location: `${url}/v1.0/attachments/${randomUUID()}` }).end();
  }

  /** Graph's message ids look like this; immutable ones are a different encoding of the same kind. */
  function newItemId(immutable: boolean): string {
    return `${immutable ? "AAkAL" : "AAMk"}${randomBytes(12).toString("base64url")}`;
  }

  function throttleUpload(res: ServerResponse) {
    const e = overUploadLimit();
    json(res, e.status, { error: { code: e.code, message: e.message } }, { "retry-after": "60" });
  }

  function takeFault(method: string, path: string): Fault | undefined {
    const index = faults.findIndex(
      (f) => (!f.method || f.method === method) && (!f.path || f.path.test(path)),
    );
    if (index < 0) return undefined;
    const fault = faults[index]!;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) faults.splice(index, 1);
    return fault;
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `https://localhost:${(server.address() as AddressInfo).port}`;

  return {
    /** Both the authority host and the Graph endpoint. */
    url,
    accepted,
    requests,
    tokenRequests,
    deletedDrafts,
    /** Messages accepted for sending so far, recorded or not. */
    sends: () => sends,
    /** Drafts not yet sent or deleted. */
    openDrafts: () => [...drafts.values()].filter((d) => d.isDraft).length,
    /** Requests answered 429 for the upload limit. */
    uploadThrottles: () => uploadThrottles,
    /** Message items (drafts, Sent Items copies) requested without immutable ids. */
    mutableIdRequests,
    /** A message item as Graph holds it now (a draft or a Sent Items copy), or undefined. */
    async item(id: string): Promise<{ isDraft: boolean; subject: string } | undefined> {
      const found = drafts.get(id);
      return found && { isDraft: found.isDraft, subject: found.message.subject };
    },
    /**
     * Bearer tokens issued for `resource`, holding `role` when one is named (the SMTP peer checks XOAUTH2
     * tokens with it).
     */
    tokenValid(token: string, resource: string, role?: string): boolean {
      const issued = tokens.get(token);
      return (
        !!issued &&
        issued.resource === resource &&
        issued.expiresAtMs > Date.now() &&
        (role === undefined || issued.roles.includes(role))
      );
    },
    /** Grants the app these application permissions from now on: tokens issued before keep their roles. */
    grant(granted: string[]): void {
      roles = [...granted];
    },
    /** The application permissions a token issued here carries (undefined for a token not issued here). */
    tokenRoles(token: string): string[] | undefined {
      return tokens.get(token)?.roles;
    },
    inject(fault: Fault): void {
      faults.push({ ...fault });
    },
    stop(): Promise<void> {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export type FakeGraph = Awaited<ReturnType<typeof startFakeGraph>>;

/**
 * Lets the handler carry the request out, but replaces its answer: a reset (the connection drops before
 * any byte of the answer) or an error status with an empty Graph error.
 */
function loseAnswer(req: IncomingMessage, res: ServerResponse, after: "reset" | number): void {
  const writeHead = res.writeHead.bind(res);
  const end = res.end.bind(res);
  let answered = false;
  const answer = () => {
    if (answered) return;
    answered = true;
    if (after === "reset") {
      req.socket.destroy();
      return;
    }
    const text = JSON.stringify({ error: { code: "GatewayTimeout", message: "The gateway timed out." } });
    writeHead(after, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    end(text);
  };
  res.writeHead = ((..._args: unknown[]) => {
    answer();
    return res;
  }) as typeof res.writeHead;
  res.end = ((..._args: unknown[]) => {
    answer();
    return res;
  }) as typeof res.end;
}

/** Reads a request body up to `maxBytes`; undefined when it is larger (the rest is drained). */
async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    length += (chunk as Buffer).length;
    if (length > maxBytes) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The MIME without its top-level Bcc header, as Exchange delivers it (mailsplit keeps every other byte). */
async function withoutBccHeader(mime: Buffer): Promise<Buffer> {
  const dropBcc = new Transform({
    objectMode: true,
    transform(chunk: SplitterChunk, _encoding, done) {
      if (chunk.type === "node" && chunk.root && chunk.headers) chunk.headers.remove("bcc");
      done(null, chunk);
    },
  });
  return buffer(Readable.from([mime]).pipe(new Splitter()).pipe(dropBcc).pipe(new Joiner()));
}
