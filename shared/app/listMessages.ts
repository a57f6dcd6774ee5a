import { z } from "zod";
import type { Client } from "../domain/client.js";
import { ProblemError } from "../domain/problem.js";
import type { MessageStatus, StatusRecord } from "../domain/statusRecord.js";
import { InvalidResumeError, resumeAfter, type TimeScanPage } from "../storage/ports.js";
import { timeKeyPattern } from "../storage/timeKey.js";
import { findMessage, visibleClients } from "./scope.js";
import type { Services } from "./services.js";

export interface MessageFilter {
  status?: MessageStatus;
  /** One client's messages (an operator's filter; a client may name only itself). */
  clientId?: string;
  mailbox?: string;
  /** Created at or after. */
  since?: Date;
  /** Created before. */
  until?: Date;
  /** Words to find in the subject, a recipient or sender address, or the start of the id. */
  text?: string;
}

/** Where a listing stopped, per client: the store's resume point and the key up to which it has seen all. */
const cursorSchema = z.record(
  z.string().max(64),
  z.union([
    z.literal("done"),
    z.object({
      r: z.string().max(4100).optional(),
      f: z.string().regex(timeKeyPattern).optional(),
    }),
  ]),
);
type Cursor = z.infer<typeof cursorSchema>;

export interface MessagePage {
  records: StatusRecord[];
  /** Opaque; pass back as `cursor` for the next page. */
  cursor?: string;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const badCursor = () =>
  new ProblemError("validation", "next is not a cursor of this listing; start again without it.", {
    errors: [{ field: "next", message: "not a cursor of this listing" }],
  });

/** Whether a record holds `text` (case-insensitive): in its subject, an address, or as the start of its id. */
export function matchesText(record: StatusRecord, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (needle === "") return true;
  return (
    record.id.toLowerCase().startsWith(needle) ||
    (record.subject ?? "").toLowerCase().includes(needle) ||
    record.mailbox.toLowerCase().includes(needle) ||
    (record.recipientAddresses ?? []).some((a) => a.includes(needle))
  );
}

/**
 * A page of the messages `caller` may see, newest first, across clients for an operator. Each client's
 * records are scanned from the store's time index (one query per client and page, never a table scan) and
 * merged: an entry is shown only once every other client's scan has passed its time, so pages keep one
 * order across clients whatever each store query returned.
 */
export async function listMessages(
  caller: Client,
  filter: MessageFilter,
  limit: number,
  cursorText: string | undefined,
  services: Pick<Services, "statuses" | "config">,
): Promise<MessagePage> {
  let scope = visibleClients(caller, services.config.clients);
  if (filter.clientId !== undefined) {
    if (!caller.operator && filter.clientId !== caller.id)
      throw new ProblemError("operatorOnly", "Only an operator key lists another client's messages.");
    scope = scope.filter((c) => c.id === filter.clientId);
  }
  const text = filter.text?.trim();
  const applies = (r: StatusRecord) =>
    (!filter.status || r.status === filter.status) &&
    (!filter.mailbox || r.mailbox.toLowerCase() === filter.mailbox.toLowerCase()) &&
    (!filter.since || Date.parse(r.createdAt) >= filter.since.getTime()) &&
    (!filter.until || Date.parse(r.createdAt) < filter.until.getTime()) &&
    scope.some((c) => c.id === r.clientId);
  // A whole id is a point read (or one per client for an operator), not a search.
  if (text && uuid.test(text) && cursorText === undefined) {
    const found = await findMessage(caller, text, services);
    return { records: found && applies(found) ? [found] : [] };
  }

  const cursor = parseCursor(cursorText, scope);
  const open = scope.filter((c) => cursor[c.id] !== "done");
  const pages = await Promise.all(
    open.map(async (client) => {
      const at = cursor[client.id];
      const state = at === "done" || at === undefined ? {} : at;
      const page = await services.statuses
        .scanByTime(client.id, {
          status: filter.status,
          mailbox: filter.mailbox,
          createdFrom: filter.since,
          createdBefore: filter.until,
          ...(text ? { match: (r: StatusRecord) => matchesText(r, text) } : {}),
          limit,
          resume: state.r,
        })
        .catch((error: unknown) => {
          throw error instanceof InvalidResumeError ? badCursor() : error;
        });
      // Everything up to `frontier` has been seen; a finished scan has seen it all.
      const frontier = page.resume === undefined ? undefined : (page.seen ?? state.f ?? "");
      return { client, page, frontier, state };
    }),
  );
  // The earliest point any unfinished scan has reached (keys sort as strings, newest first).
  const bound = pages
    .map((p) => p.frontier)
    .filter((f): f is string => f !== undefined)
    .sort()[0];
  const shown = pages
    .flatMap(({ client, page }) => page.entries.map((entry) => ({ clientId: client.id, ...entry })))
    .filter((entry) => bound === undefined || entry.key <= bound)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, limit);

  const next: Cursor = { ...cursor };
  for (const { client, page, frontier, state } of pages) {
    const mine = shown.filter((e) => e.clientId === client.id);
    next[client.id] = nextState(page, mine, frontier, state);
  }
  const more = scope.some((c) => next[c.id] !== "done");
  return {
    records: shown.map((e) => e.record),
    ...(more ? { cursor: Buffer.from(JSON.stringify(next)).toString("base64url") } : {}),
  };
}

/** A client's cursor after a page: past what was shown of it, or where its scan stopped if all was shown. */
function nextState(
  page: TimeScanPage,
  shown: { key: string }[],
  frontier: string | undefined,
  state: { r?: string; f?: string },
): Cursor[string] {
  if (shown.length === page.entries.length) {
    if (page.resume === undefined) return "done";
    return { r: page.resume, ...(frontier ? { f: frontier } : {}) };
  }
  const last = shown[shown.length - 1]?.key;
  return last === undefined ? state : { r: resumeAfter(last), f: last };
}

function parseCursor(text: string | undefined, scope: Client[]): Cursor {
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw badCursor();
  }
  const result = cursorSchema.safeParse(parsed);
  if (!result.success || Object.keys(result.data).some((id) => !scope.some((c) => c.id === id)))
    throw badCursor();
  return result.data;
}
