import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { messageStatuses } from "../../../shared/domain/statusRecord.js";
import { ApiError, type Message } from "../api.js";
import { count, time } from "../format.js";
import { cursorOf, type Filters, listQuery, type Period, parseRoute, periods } from "../route.js";
import { useLoad } from "../useLoad.js";
import { Link } from "./Link.js";
import { ErrorNotice } from "./Notice.js";
import type { ViewProps } from "./props.js";

const periodLabels: Record<Period, string> = {
  "1h": "Last hour",
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
};

/** The message list: filters in the URL, live refresh, a page at a time, failed ones retried in bulk. */
export function MessageList(props: ViewProps) {
  const { api, route, navigate, caller } = props;
  const [live, setLive] = useState(true);
  const [selected, setSelected] = useState<string[]>([]);
  const [bulkError, setBulkError] = useState<ApiError>();
  const key = JSON.stringify([route.filters, route.next]);
  const list = useLoad(() => api.messages(listQuery(route, Date.now())), key, {
    refreshMs: live ? 5000 : undefined,
    onError: props.onError,
  });
  const messages = list.data?.messages ?? [];
  const failed = messages.filter((m) => m.status === "failed");
  const next = cursorOf(list.data?.next);

  const applyFilters = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const value = (name: string) => String(form.get(name) ?? "").trim();
    const search = new URLSearchParams({ view: "messages" });
    for (const name of ["status", "client", "mailbox", "period", "q"])
      if (value(name)) search.set(name, value(name));
    setSelected([]);
    navigate(parseRoute(search.toString()));
  };

  const retrySelected = async () => {
    setBulkError(undefined);
    try {
      const { results } = await api.retryMany(selected);
      const queued = results.filter((r) => "status" in r).length;
      const refused = results.length - queued;
      props.announce(
        `Retry requested for ${count(queued)} message${queued === 1 ? "" : "s"}` +
          (refused > 0 ? `; ${count(refused)} could not be retried.` : "."),
      );
      setSelected([]);
      list.reload();
    } catch (error) {
      if (error instanceof ApiError) {
        setBulkError(error);
        props.onError(error);
      }
    }
  };

  const toggle = (id: string, on: boolean) =>
    setSelected((current) => (on ? [...new Set([...current, id])] : current.filter((s) => s !== id)));

  return (
    <>
      <h1>Messages</h1>
      {/* Uncontrolled fields, rebuilt when the URL's filters change: a live refresh never undoes typing. */}
      <form
        key={JSON.stringify(route.filters)}
        class="filters"
        aria-label="Filter messages"
        onSubmit={applyFilters}
      >
        <Filter label="Status" name="status">
          <select id="filter-status" name="status">
            <option value="">Any status</option>
            {messageStatuses.map((s) => (
              <option key={s} value={s} selected={route.filters.status === s}>
                {s}
              </option>
            ))}
          </select>
        </Filter>
        {caller.operator ? (
          <Filter label="Client" name="client">
            <select id="filter-client" name="client">
              <option value="">Every client</option>
              {caller.clients.map((c) => (
                <option key={c.id} value={c.id} selected={route.filters.client === c.id}>
                  {c.id}
                </option>
              ))}
            </select>
          </Filter>
        ) : null}
        <Filter label="Mailbox" name="mailbox">
          <input
            id="filter-mailbox"
            name="mailbox"
            type="email"
            defaultValue={route.filters.mailbox ?? ""}
            placeholder="scanner@contoso.com"
          />
        </Filter>
        <Filter label="Created" name="period">
          <select id="filter-period" name="period">
            <option value="">Any time</option>
            {(Object.keys(periods) as Period[]).map((p) => (
              <option key={p} value={p} selected={route.filters.period === p}>
                {periodLabels[p]}
              </option>
            ))}
          </select>
        </Filter>
        <Filter label="Search" name="q">
          <input
            id="filter-q"
            name="q"
            type="search"
            defaultValue={route.filters.q ?? ""}
            placeholder="subject, address or id"
            maxLength={256}
          />
        </Filter>
        <div class="actions">
          <button type="submit">Apply filters</button>
          <Link to={{ view: "messages", filters: {} }} navigate={navigate} class="button-like">
            Clear filters
          </Link>
        </div>
      </form>

      <div class="toolbar">
        <label class="check">
          <input type="checkbox" checked={live} onChange={(event) => setLive(event.currentTarget.checked)} />
          Refresh every 5 seconds
        </label>
        <span class="muted" aria-live="off">
          {list.loadedAt ? `Updated ${time(new Date(list.loadedAt).toISOString(), Date.now())}` : "Loading…"}
        </span>
        <button
          type="button"
          disabled={failed.length === 0}
          onClick={() => setSelected(failed.map((m) => m.id))}
        >
          Select all failed on this page
        </button>
        <button type="button" disabled={selected.length === 0} onClick={retrySelected}>
          Retry selected ({count(selected.length)})
        </button>
      </div>
      <ErrorNotice error={list.error} retry={list.reload} />
      <ErrorNotice error={bulkError} />

      {messages.length === 0 && !list.loading && !list.error ? (
        <p class="empty">
          {next
            ? "No messages on this page; the search goes on in older ones."
            : "No messages match these filters."}
        </p>
      ) : (
        <table class="messages">
          <caption class="visually-hidden">Messages, newest first</caption>
          <thead>
            <tr>
              <th scope="col">
                <span class="visually-hidden">Select</span>
              </th>
              <th scope="col">Status</th>
              <th scope="col">Subject</th>
              <th scope="col">Sender</th>
              <th scope="col">Recipients</th>
              <th scope="col">Transport</th>
              {caller.operator ? <th scope="col">Client</th> : null}
              <th scope="col">Created</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((m) => (
              <Row
                key={m.id}
                message={m}
                {...props}
                selected={selected.includes(m.id)}
                onSelect={(on) => toggle(m.id, on)}
              />
            ))}
          </tbody>
        </table>
      )}

      <nav class="pages" aria-label="Pages">
        {route.next ? (
          <Link to={{ view: "messages", filters: route.filters }} navigate={navigate}>
            Newest messages
          </Link>
        ) : null}
        {next ? (
          <Link to={{ view: "messages", filters: route.filters, next }} navigate={navigate}>
            Older messages
          </Link>
        ) : null}
      </nav>
    </>
  );
}

function Filter(props: { label: string; name: keyof Filters; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={`filter-${props.name}`}>{props.label}</label>
      {props.children}
    </div>
  );
}

function Row(props: ViewProps & { message: Message; selected: boolean; onSelect: (on: boolean) => void }) {
  const { message: m, navigate, route, caller } = props;
  const now = Date.now();
  const subject = m.subject || "(no subject)";
  return (
    <tr class={`status-${m.status}`}>
      <td data-label="Select">
        {m.status === "failed" ? (
          <input
            type="checkbox"
            checked={props.selected}
            aria-label={`Select ${subject} for retry`}
            onChange={(event) => props.onSelect(event.currentTarget.checked)}
          />
        ) : null}
      </td>
      <td data-label="Status">
        <span class={`badge ${m.status}`}>{m.status}</span>
      </td>
      <td data-label="Subject">
        <Link to={{ view: "message", id: m.id, filters: route.filters }} navigate={navigate}>
          {subject}
        </Link>
      </td>
      <td data-label="Sender">{m.mailbox}</td>
      <td data-label="Recipients">{count(m.recipients)}</td>
      <td data-label="Transport">{m.transport}</td>
      {caller.operator ? <td data-label="Client">{m.clientId}</td> : null}
      <td data-label="Created">
        <time dateTime={m.createdAt}>{time(m.createdAt, now)}</time>
      </td>
      <td data-label="Updated">
        <time dateTime={m.updatedAt}>{time(m.updatedAt, now)}</time>
      </td>
    </tr>
  );
}
