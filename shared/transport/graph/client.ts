import {
  AuthenticationHandler,
  Client,
  type Context,
  HTTPMessageHandler,
  type Middleware,
  TelemetryHandler,
} from "@microsoft/microsoft-graph-client";

/** A request that got no HTTP answer; `name` carries the network code so GraphError.code keeps it. */
export class GraphConnectionError extends Error {
  constructor(code: string, message: string) {
    super(message);
    this.name = code;
  }
}

/**
 * Gives every Graph call a deadline and names why a call got no answer (ECONNRESET, ETIMEDOUT) instead of
 * fetch's bare "fetch failed".
 */
class DeadlineHandler implements Middleware {
  private next?: Middleware;
  constructor(private readonly timeoutMs: number) {}

  async execute(context: Context): Promise<void> {
    context.options = { ...context.options, signal: AbortSignal.timeout(this.timeoutMs) };
    try {
      await this.next?.execute(context);
    } catch (error) {
      throw describeNetworkError(error, this.timeoutMs);
    }
  }

  setNext(next: Middleware): void {
    this.next = next;
  }
}

/** Turns fetch's rejections (undici) into a code and a sentence. */
export function describeNetworkError(error: unknown, timeoutMs: number): GraphConnectionError {
  const e = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === "TimeoutError" || e?.name === "AbortError") {
    return new GraphConnectionError("ETIMEDOUT", `no answer from Graph within ${timeoutMs} ms`);
  }
  const code = e?.cause?.code ?? "ECONNECTION";
  const detail = e?.cause?.message ?? e?.message ?? String(error);
  const reset = /UND_ERR_SOCKET|ECONNRESET|other side closed/.test(`${code} ${detail}`);
  return new GraphConnectionError(reset ? "ECONNRESET" : code, `connection to Graph failed: ${detail}`);
}

/**
 * A Graph client whose middleware chain has no RetryHandler (it would sleep through 429/503 inside the
 * invocation; mailhook reschedules through the queue instead) and no RedirectHandler (sendMail does not
 * redirect): authentication → deadline → telemetry → fetch.
 */
export function createGraphClient(options: {
  graphEndpoint: string;
  accessToken(): Promise<string>;
  timeoutMs: number;
}): Client {
  const auth = new AuthenticationHandler({ getAccessToken: options.accessToken });
  const deadline = new DeadlineHandler(options.timeoutMs);
  const telemetry = new TelemetryHandler();
  auth.setNext(deadline);
  deadline.setNext(telemetry);
  telemetry.setNext(new HTTPMessageHandler());
  return Client.initWithMiddleware({
    middleware: auth,
    baseUrl: options.graphEndpoint,
    defaultVersion: "v1.0",
    // The AuthenticationHandler only sends the token to hosts it knows as Graph; national clouds and the
    // configured GRAPH_ENDPOINT must be listed.
    customHosts: new Set([new URL(options.graphEndpoint).hostname]),
  });
}
