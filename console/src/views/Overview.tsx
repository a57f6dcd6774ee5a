import { barChart, type Series, series } from "../chart.js";
import { count } from "../format.js";
import { useLoad } from "../useLoad.js";
import { ErrorNotice } from "./Notice.js";
import type { ViewProps } from "./props.js";

const labels: Record<Series, string> = { sent: "Sent", deferred: "Deferred", failed: "Failed" };
const width = 720;
const height = 220;
const margin = { top: 10, right: 10, bottom: 30, left: 40 };

const hourOf = (iso: string) =>
  new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false });

/** Sent, deferred and failed per hour over the last 24 hours (plain SVG, with the numbers as a table), and the backlog. */
export function Overview(props: ViewProps) {
  const loaded = useLoad(() => props.api.overview(), "overview", {
    refreshMs: 30_000,
    onError: props.onError,
  });
  const hours = loaded.data?.hours ?? [];
  const chart = barChart(hours, width - margin.left - margin.right, height - margin.top - margin.bottom);
  const totals = Object.fromEntries(series.map((s) => [s, hours.reduce((n, h) => n + h[s], 0)])) as Record<
    Series,
    number
  >;
  const summary = `In the last 24 hours: ${count(totals.sent)} sent, ${count(totals.deferred)} deferred, ${count(totals.failed)} failed.`;
  return (
    <>
      <h1>Overview</h1>
      <ErrorNotice error={loaded.error} retry={loaded.reload} />
      {loaded.data?.backlog !== undefined ? (
        <p class="backlog">
          Backlog now: <strong>{count(loaded.data.backlog)}</strong> message
          {loaded.data.backlog === 1 ? "" : "s"} waiting in the queue (queued, scheduled, deferred or being
          sent).
        </p>
      ) : null}
      <p>{summary}</p>
      <figure class="chart">
        <svg
          viewBox={`0 0 ${width} ${height}`}
          role="img"
          aria-labelledby="chart-title chart-desc"
          preserveAspectRatio="xMidYMid meet"
        >
          <title id="chart-title">Messages per hour, last 24 hours</title>
          <desc id="chart-desc">{summary}</desc>
          <g transform={`translate(${margin.left},${margin.top})`}>
            {chart.ticks.map((tick) => {
              const y = (height - margin.top - margin.bottom) * (1 - tick / chart.max);
              return (
                <g key={tick} class="tick">
                  <line x1={0} x2={width - margin.left - margin.right} y1={y} y2={y} />
                  <text x={-6} y={y} dy="0.32em" text-anchor="end">
                    {count(tick)}
                  </text>
                </g>
              );
            })}
            {chart.bars.map((bar) => (
              <rect
                key={`${bar.x}-${bar.series}`}
                class={`bar ${bar.series}`}
                x={bar.x}
                y={bar.y}
                width={bar.width}
                height={bar.height}
              >
                <title>{`${labels[bar.series]}: ${count(bar.value)}`}</title>
              </rect>
            ))}
            {hours.map((h, i) =>
              i % 3 === 0 ? (
                <text
                  key={h.start}
                  class="axis"
                  x={(i + 0.5) * ((width - margin.left - margin.right) / hours.length)}
                  y={height - margin.top - margin.bottom + 18}
                  text-anchor="middle"
                >
                  {hourOf(h.start)}
                </text>
              ) : null,
            )}
          </g>
        </svg>
        <figcaption>
          <ul class="legend">
            {series.map((s) => (
              <li key={s}>
                <span class={`swatch ${s}`} aria-hidden="true" /> {labels[s]}
              </li>
            ))}
          </ul>
        </figcaption>
      </figure>
      <details>
        <summary>The numbers per hour</summary>
        <table class="hours">
          <caption class="visually-hidden">Messages per hour</caption>
          <thead>
            <tr>
              <th scope="col">Hour</th>
              {series.map((s) => (
                <th key={s} scope="col">
                  {labels[s]}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {hours.map((h) => (
              <tr key={h.start}>
                <th scope="row">
                  <time dateTime={h.start}>{hourOf(h.start)}</time>
                </th>
                {series.map((s) => (
                  <td key={s}>{count(h[s])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}
