/**
 * RFC 9457 problem details. Every error a caller sees is one of these kinds, each with a stable `type`.
 */
export const problemTypes = {
  badRequest: { status: 400, title: "Malformed request" },
  unauthorized: { status: 401, title: "Missing or unknown API key" },
  forbiddenSender: { status: 403, title: "Sender not allowed for this client" },
  operatorOnly: { status: 403, title: "Needs an operator key" },
  notFound: { status: 404, title: "Not found" },
  methodNotAllowed: { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "Conflict" },
  tooLarge: { status: 413, title: "Request too large" },
  unsupportedMediaType: { status: 415, title: "Unsupported content type" },
  validation: { status: 422, title: "The message breaks a rule" },
  rateLimited: { status: 429, title: "Too many requests" },
  internal: { status: 500, title: "Internal error" },
  unavailable: { status: 503, title: "Service unavailable" },
} as const;

export type ProblemKind = keyof typeof problemTypes;

/** One invalid field: `field` is a JSON-pointer-like path such as `to[2]` or `attachments[0].contentBytes`. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * Members a problem may carry beside RFC 9457's. None of them shares a name with a standard member: `status`
 * is always the HTTP status code (RFC 9457 §3.1.4, https://www.rfc-editor.org/rfc/rfc9457#section-3.1.4), so
 * a message's own state travels as `messageStatus`.
 */
export interface ProblemExtensions {
  /** The state of the message the request was about, when that state is why it was refused (409). */
  messageStatus?: string;
  /** The size limit that was exceeded (413), in bytes. */
  limitBytes?: number;
  /** The app setting that raises or changes the limit, e.g. `MAX_MESSAGE_BYTES`. */
  setting?: string;
  /** The request field or header the problem is about. */
  field?: string;
  /** The message an `Idempotency-Key` already belongs to. */
  messageId?: string;
  /** The multipart part the problem is about, by its position in the body (1 is the first). */
  part?: number;
}

export interface ProblemBody extends ProblemExtensions {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldError[];
}

export function problemTypeUri(kind: ProblemKind): string {
  return `urn:mailhook:problem:${kind}`;
}

/** Thrown anywhere in request handling; the HTTP layer turns it into a problem+json answer. */
export class ProblemError extends Error {
  readonly kind: ProblemKind;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly extensions: ProblemExtensions;
  readonly headers: Record<string, string>;

  constructor(
    kind: ProblemKind,
    detail: string,
    options: {
      errors?: FieldError[];
      extensions?: ProblemExtensions;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = "ProblemError";
    this.kind = kind;
    this.status = problemTypes[kind].status;
    this.errors = options.errors;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  toBody(): ProblemBody {
    return {
      ...this.extensions,
      type: problemTypeUri(this.kind),
      title: problemTypes[this.kind].title,
      status: this.status,
      detail: this.message,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

/** A 422 naming one field. */
export function invalidField(field: string, message: string): ProblemError {
  return new ProblemError("validation", `${field}: ${message}`, { errors: [{ field, message }] });
}
