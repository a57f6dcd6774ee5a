import { type MessageStatus, messageStatuses } from "../../shared/domain/statusRecord.js";

/**
 * The console's state lives in the URL's query string, so every view (and every filter) can be linked,
 * bookmarked and reloaded: `?view=messages&status=failed&q=invoice`, `?view=message&id=…`.
 */
export const views = ["messages", "message", "mailboxes", "overview"] as const;
export type View = (typeof views)[number];

/** Creation-time presets of the message list (the API takes `since` as an instant). */
export const periods = {
  "1h": 3600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
} as const;
export type Period = keyof typeof periods;

export interface Filters {
  status?: MessageStatus;
  client?: string;
  mailbox?: string;
  period?: Period;
  q?: string;
}

export interface Route {
  view: View;
  /** The message shown by `view=message`. */
  id?: string;
  filters: Filters;
  /** The list page's cursor (the API's `next`). */
  next?: string;
}

const idPattern = /^[A-Za-z0-9-]{1,64}$/;
const clientPattern = /^[A-Za-z0-9._-]{1,64}$/;
const oneOf = <T extends string>(values: readonly T[], value: string | null): T | undefined =>
  values.find((v) => v === value);

/** The route a query string names; anything unknown or malformed is left out, never trusted. */
export function parseRoute(search: string): Route {
  const params = new URLSearchParams(search);
  const text = (name: string, max: number) => {
    const value = params.get(name)?.trim();
    return value && value.length <= max ? value : undefined;
  };
  const id = params.get("id") ?? "";
  const view = oneOf(views, params.get("view")) ?? "messages";
  const client = params.get("client") ?? "";
  const filters: Filters = {
    status: oneOf(messageStatuses, params.get("status")),
    client: clientPattern.test(client) ? client : undefined,
    mailbox: text("mailbox", 320),
    period: oneOf(Object.keys(periods) as Period[], params.get("period")),
    q: text("q", 256),
  };
  const next = text("next", 8000);
  return {
    view: view === "message" && !idPattern.test(id) ? "messages" : view,
    ...(view === "message" && idPattern.test(id) ? { id } : {}),
    filters: dropEmpty(filters),
    ...(view === "messages" && next ? { next } : {}),
  };
}

/** The query string of a route (with its `?`), in a stable order. */
export function formatRoute(route: Route): string {
  const params = new URLSearchParams({ view: route.view });
  if (route.view === "message" && route.id) params.set("id", route.id);
  if (route.view === "messages" || route.view === "message") {
    for (const [name, value] of Object.entries(dropEmpty(route.filters))) params.set(name, String(value));
  }
  if (route.view === "messages" && route.next) params.set("next", route.next);
  return `?${params.toString()}`;
}

/** The API query of the message list for a route: filters as the API names them, `since` as an instant. */
export function listQuery(route: Route, nowMs: number, limit = 50): URLSearchParams {
  const { status, client, mailbox, period, q } = route.filters;
  const query = new URLSearchParams({ limit: String(limit) });
  if (status) query.set("status", status);
  if (client) query.set("client", client);
  if (mailbox) query.set("mailbox", mailbox);
  if (q) query.set("q", q);
  if (period) query.set("since", new Date(nowMs - periods[period]).toISOString());
  if (route.next) query.set("next", route.next);
  return query;
}

/** The `next` cursor of an API `next` link (the console keeps only the cursor in its own URL). */
export function cursorOf(nextUrl: string | undefined): string | undefined {
  if (!nextUrl) return undefined;
  return new URL(nextUrl, "http://console.invalid").searchParams.get("next") ?? undefined;
}

function dropEmpty(filters: Filters): Filters {
  return Object.fromEntries(
    Object.entries(filters).filter(([, v]) => v !== undefined && v !== ""),
  ) as Filters;
}
