import type { MailboxView } from "../../../shared/api/views.js";
import { count, relative, time } from "../format.js";
import { useLoad } from "../useLoad.js";
import { ErrorNotice } from "./Notice.js";
import type { ViewProps } from "./props.js";

/** Each sending mailbox's usage against Exchange Online's limits, as meters with their numbers in words. */
export function Mailboxes(props: ViewProps) {
  const loaded = useLoad(() => props.api.mailboxes(), "mailboxes", {
    refreshMs: 5000,
    onError: props.onError,
  });
  const mailboxes = loaded.data?.mailboxes ?? [];
  return (
    <>
      <h1>Mailboxes</h1>
      <p class="muted">
        Usage against each mailbox's limits, refreshed every 5 seconds. Exchange Online allows 30 messages in
        any rolling minute and 10,000 recipients in any rolling 24 hours per sending mailbox.
      </p>
      <ErrorNotice error={loaded.error} retry={loaded.reload} />
      {mailboxes.length === 0 && !loaded.loading ? (
        <p class="empty">No sending mailbox has been used yet.</p>
      ) : null}
      <ul class="mailboxes">
        {mailboxes.map((m, i) => (
          <MailboxCard key={m.mailbox} mailbox={m} index={i} />
        ))}
      </ul>
    </>
  );
}

function MailboxCard(props: { mailbox: MailboxView; index: number }) {
  const { mailbox: m, index } = props;
  const now = Date.now();
  const titleId = `mailbox-${index}`;
  const paused = m.pausedUntil !== undefined && Date.parse(m.pausedUntil) > now;
  return (
    <li class="mailbox" aria-labelledby={titleId}>
      <h2 id={titleId}>{m.mailbox}</h2>
      <Gauge
        id={`${titleId}-messages`}
        label={`Messages in the last ${m.limits.windowSeconds === 60 ? "minute" : `${m.limits.windowSeconds} s`}`}
        value={m.usage.messagesInWindow}
        max={m.limits.messagesPerWindow}
      />
      <Gauge
        id={`${titleId}-recipients`}
        label="Recipients in the last 24 hours"
        value={m.usage.recipientsInDay}
        max={m.limits.recipientsPerDay}
      />
      <Gauge
        id={`${titleId}-inflight`}
        label="Sends in flight"
        value={m.inFlight}
        max={m.limits.concurrency}
      />
      {m.limits.uploadBytesPerWindow !== undefined ? (
        <Gauge
          id={`${titleId}-uploads`}
          label={`MB uploaded to Graph in the last ${Math.round((m.limits.uploadWindowSeconds ?? 300) / 60)} minutes`}
          value={Math.round((m.usage.uploadBytesInWindow ?? 0) / 1_000_000)}
          max={Math.round(m.limits.uploadBytesPerWindow / 1_000_000)}
        />
      ) : null}
      <p>
        Next free slot:{" "}
        <time dateTime={m.nextSlotAt}>
          {Date.parse(m.nextSlotAt) <= now + 1000
            ? "now"
            : `${time(m.nextSlotAt, now)} (${relative(m.nextSlotAt, now)})`}
        </time>
      </p>
      {paused && m.pausedUntil ? (
        <p class="notice warn">
          <strong>Paused</strong> until <time dateTime={m.pausedUntil}>{time(m.pausedUntil, now)}</time> (
          {relative(m.pausedUntil, now)}): <span class="provider-text">{m.pauseReason ?? "throttled"}</span>
        </p>
      ) : null}
      {m.tenantExternalPause ? (
        <p class="notice warn">
          <strong>External recipients paused for the whole tenant</strong>
          {" since "}
          <time dateTime={m.tenantExternalPause.since}>{time(m.tenantExternalPause.since, now)}</time>
          {"; internal mail goes on, and one message tries again at "}
          <time dateTime={m.tenantExternalPause.nextProbeAt}>
            {time(m.tenantExternalPause.nextProbeAt, now)}
          </time>
          {": "}
          <span class="provider-text">{m.tenantExternalPause.reason}</span>
        </p>
      ) : null}
    </li>
  );
}

/** A `<meter>` named by its label and its numbers ("12 of 30"), which it also shows as text. */
function Gauge(props: { id: string; label: string; value: number; max: number }) {
  const words = `${count(props.value)} of ${count(props.max)}`;
  return (
    <div class="gauge">
      <span class="gauge-label" id={`${props.id}-label`}>
        {props.label}
      </span>
      <meter
        id={props.id}
        min={0}
        max={props.max}
        value={Math.min(props.value, props.max)}
        low={props.max * 0.7}
        high={props.max * 0.9}
        optimum={0}
        aria-label={`${props.label}: ${words}`}
      >
        {words}
      </meter>
      <span class="gauge-value" aria-hidden="true">
        {words}
      </span>
    </div>
  );
}
