import { useEffect, useState } from "preact/hooks";
import { ApiError, type Message } from "../api.js";
import { explain } from "../explain.js";
import { bytes, count, relative, time } from "../format.js";
import { useLoad } from "../useLoad.js";
import { Link } from "./Link.js";
import { ErrorNotice } from "./Notice.js";
import type { ViewProps } from "./props.js";

const cancellable = new Set(["queued", "scheduled", "deferred"]);
const final = new Set(["sent", "failed", "cancelled"]);

/** One message: what it is, what happened (timeline, provider's answer, the reason in words), Retry and Cancel. */
export function MessageDetail(props: ViewProps & { id: string }) {
  const { api, id, route, navigate } = props;
  const [actionError, setActionError] = useState<ApiError>();
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [busy, setBusy] = useState(false);
  // Live while the message can still change.
  const [live, setLive] = useState(true);
  const loaded = useLoad(() => api.message(id), id, {
    refreshMs: live ? 3000 : undefined,
    onError: props.onError,
  });
  const m = loaded.data;
  useEffect(() => setLive(!(m && final.has(m.status))), [m]);

  const act = async (what: "retry" | "cancel") => {
    setBusy(true);
    setActionError(undefined);
    try {
      const after = what === "retry" ? await api.retry(id) : await api.cancel(id);
      props.announce(
        what === "retry"
          ? `Retry requested: the message is ${after.status}.`
          : `The message is ${after.status}.`,
      );
      setConfirmCancel(false);
      loaded.reload();
    } catch (error) {
      if (error instanceof ApiError) {
        setActionError(error);
        props.onError(error);
      }
    } finally {
      setBusy(false);
    }
  };

  const back = (
    <Link to={{ view: "messages", filters: route.filters }} navigate={navigate}>
      Back to messages
    </Link>
  );
  if (!m) {
    return (
      <>
        <h1>Message</h1>
        <p>{back}</p>
        {loaded.error ? (
          <ErrorNotice error={loaded.error} retry={loaded.reload} />
        ) : (
          <p role="status">Loading…</p>
        )}
      </>
    );
  }
  const now = Date.now();
  const advice = m.status === "failed" ? explain({ ...m.lastError, reason: m.reason }) : undefined;
  return (
    <>
      <p>{back}</p>
      <h1>{m.subject || "(no subject)"}</h1>
      <p class="status-line">
        <span class={`badge ${m.status}`}>{m.status}</span>
        <span class="muted">
          {" "}
          updated <time dateTime={m.updatedAt}>{relative(m.updatedAt, now)}</time>
        </span>
      </p>

      <div class="actions">
        {m.status === "failed" ? (
          <button type="button" disabled={busy} onClick={() => act("retry")}>
            Retry
          </button>
        ) : null}
        {cancellable.has(m.status) && !confirmCancel ? (
          <button type="button" disabled={busy} onClick={() => setConfirmCancel(true)}>
            Cancel message
          </button>
        ) : null}
        {cancellable.has(m.status) && confirmCancel ? (
          <>
            <span>Cancel this message? It will not be sent.</span>
            <button type="button" class="danger" disabled={busy} onClick={() => act("cancel")}>
              Yes, cancel it
            </button>
            <button type="button" disabled={busy} onClick={() => setConfirmCancel(false)}>
              No, keep it
            </button>
          </>
        ) : null}
      </div>
      <ErrorNotice error={actionError} />
      <ErrorNotice error={loaded.error} retry={loaded.reload} />

      {m.status === "failed" || m.status === "deferred" ? (
        <section class="reason" aria-labelledby="reason-title">
          <h2 id="reason-title">{m.status === "failed" ? "Why it failed" : "Why it waits"}</h2>
          {m.reason ? <p class="reason-text">{m.reason}</p> : null}
          {m.lastError ? (
            <dl class="pairs">
              <dt>Provider's code</dt>
              <dd>
                <code>{m.lastError.code ?? "(none)"}</code>
              </dd>
              <dt>Provider's text</dt>
              <dd class="provider-text">{m.lastError.text}</dd>
              <dt>At</dt>
              <dd>
                <time dateTime={m.lastError.at}>{time(m.lastError.at, now)}</time>
              </dd>
            </dl>
          ) : null}
          {advice ? (
            <p class="advice">
              <strong>What to do: </strong>
              {advice}
            </p>
          ) : null}
        </section>
      ) : null}

      <section aria-labelledby="facts-title">
        <h2 id="facts-title">Message</h2>
        <dl class="pairs">
          <dt>Id</dt>
          <dd>
            <code>{m.id}</code>
          </dd>
          <dt>Client</dt>
          <dd>{m.clientId}</dd>
          <dt>Sender</dt>
          <dd>{m.mailbox}</dd>
          <dt>Transport</dt>
          <dd>{m.transport}</dd>
          <dt>Recipients</dt>
          <dd>
            {count(m.recipients)}
            {m.recipientAddresses && m.recipientAddresses.length > 0 ? (
              <ul class="plain">
                {m.recipientAddresses.map((a) => (
                  <li key={a}>{a}</li>
                ))}
                {m.recipients > m.recipientAddresses.length ? (
                  <li>and {count(m.recipients - m.recipientAddresses.length)} more</li>
                ) : null}
              </ul>
            ) : null}
          </dd>
          {m.attachments && m.attachments.length > 0 ? (
            <>
              <dt>Attachments</dt>
              <dd>
                <ul class="plain">
                  {m.attachments.map((a, i) => (
                    <li key={i}>
                      <span class="file-name">{a.name}</span> <span class="muted">({bytes(a.size)})</span>
                    </li>
                  ))}
                </ul>
              </dd>
            </>
          ) : null}
          <dt>Created</dt>
          <dd>
            <time dateTime={m.createdAt}>{time(m.createdAt, now)}</time>
          </dd>
          <dt>Attempts</dt>
          <dd>{count(m.attempts)}</dd>
          {m.sendAt ? (
            <>
              <dt>Send at</dt>
              <dd>
                <time dateTime={m.sendAt}>{time(m.sendAt, now)}</time>
              </dd>
            </>
          ) : null}
          {m.nextAttemptAt ? (
            <>
              <dt>Next attempt</dt>
              <dd>
                <time dateTime={m.nextAttemptAt}>
                  {time(m.nextAttemptAt, now)} ({relative(m.nextAttemptAt, now)})
                </time>
              </dd>
            </>
          ) : null}
          {m.sentAt ? (
            <>
              <dt>Sent</dt>
              <dd>
                <time dateTime={m.sentAt}>{time(m.sentAt, now)}</time>
              </dd>
            </>
          ) : null}
          {m.providerMessageId ? (
            <>
              <dt>Provider's message id</dt>
              <dd>
                <code>{m.providerMessageId}</code>
              </dd>
            </>
          ) : null}
          {m.metadata && Object.keys(m.metadata).length > 0 ? (
            <>
              <dt>Metadata</dt>
              <dd>
                <dl class="pairs nested">
                  {Object.entries(m.metadata).map(([k, v]) => (
                    <div key={k}>
                      <dt>{k}</dt>
                      <dd>{v}</dd>
                    </div>
                  ))}
                </dl>
              </dd>
            </>
          ) : null}
        </dl>
      </section>

      <Timeline message={m} now={now} />
    </>
  );
}

function Timeline(props: { message: Message; now: number }) {
  return (
    <section aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      <ol class="timeline">
        {props.message.timeline.map((entry, i) => (
          <li key={i}>
            <time dateTime={entry.at}>{time(entry.at, props.now)}</time>{" "}
            <span class={`badge ${entry.status}`}>{entry.status}</span>
            {entry.detail ? <span class="detail"> {entry.detail}</span> : null}
            {entry.by ? <span class="by"> by {entry.by}</span> : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
