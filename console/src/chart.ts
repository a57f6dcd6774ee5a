/** Geometry of the overview's chart: one stacked bar per hour (sent, deferred, failed), plain SVG. */
export interface HourCounts {
  start: string;
  sent: number;
  failed: number;
  deferred: number;
}

export const series = ["sent", "deferred", "failed"] as const;
export type Series = (typeof series)[number];

export interface Bar {
  series: Series;
  x: number;
  y: number;
  width: number;
  height: number;
  value: number;
}

export interface Chart {
  bars: Bar[];
  /** The value of the top gridline: a round number at or above the busiest hour. */
  max: number;
  ticks: number[];
}

/** A round scale top (1, 2, 5 × 10^n) at or above `n`. */
export function niceMax(n: number): number {
  if (n <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  return ([1, 2, 5, 10].map((m) => m * power).find((m) => m >= n) ?? 10 * power) as number;
}

/** Bars for `hours` in a `width` × `height` plot area (y grows downwards, as in SVG). */
export function barChart(hours: readonly HourCounts[], width: number, height: number): Chart {
  const max = niceMax(Math.max(0, ...hours.map((h) => h.sent + h.failed + h.deferred)));
  const slot = hours.length > 0 ? width / hours.length : width;
  const barWidth = Math.max(1, slot * 0.7);
  const bars: Bar[] = [];
  hours.forEach((hour, i) => {
    let top = height;
    for (const name of series) {
      const value = hour[name];
      if (value <= 0) continue;
      const h = (value / max) * height;
      top -= h;
      bars.push({
        series: name,
        x: i * slot + (slot - barWidth) / 2,
        y: top,
        width: barWidth,
        height: h,
        value,
      });
    }
  });
  return { bars, max, ticks: max % 2 === 0 ? [0, max / 2, max] : [0, max] };
}
