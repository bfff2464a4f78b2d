import uPlot from 'uplot';
import { h, setText } from '../dom.js';
import { type ChartSeries, X_INCRS, isolatedPoints, rewardScale, wholePercents } from '../chartData.js';
import { fmtCount } from '../format.js';

export interface LineChartOptions {
  id: string;
  title: string;
  caption: string;
  xLabel: string;
  yLabel: string;
  /** Fixed y range (e.g. [0, 100] for percentages); else the range `update` is given, else auto. */
  yRange?: [number, number];
  /** Stacked areas with steps (parts of a whole per window) instead of lines. */
  stacked?: boolean;
  /**
   * Axis and legend text; built on format.ts, so a chart writes numbers as the tables do ("−0.25").
   * Axis ticks come with the step between them (`step`), legend values without.
   */
  format: (v: number, step?: number) => string;
  /** Said instead of an empty plot when there are rewards but no point yet (the champion needs two rewards of one candidate). */
  noPoints?: string;
  /** Who a point of the first series stands for (the champion chart's candidate), shown after its legend value. */
  whose?: (idx: number) => string | null;
}

const HEIGHT = 260;

/**
 * A uPlot chart, one series per candidate, inside a <figure>. The plot is rebuilt when the set of
 * candidates changes and fed new data otherwise (cheap), and follows its container's width.
 */
export class LineChart {
  readonly el: HTMLElement;
  private readonly box = h('div', { class: 'chart-box' });
  private readonly empty = h('p', { class: 'muted chart-empty' }, 'No rewards yet.');
  private plot: uPlot | null = null;
  private ids = '';
  /** The unstacked values, for the legend of a stacked chart. */
  private raw: ChartSeries = { ids: [], x: [], ys: [] };
  /** The job's declared reward range (`update`), the y axis' extent: read when the scale is set, so a new range needs no rebuild. */
  private declared: readonly [number, number] | null = null;
  private readonly resize: ResizeObserver;

  constructor(private readonly opts: LineChartOptions) {
    this.el = h('section', { class: 'panel', 'aria-labelledby': `${opts.id}-title` },
      h('h2', { id: `${opts.id}-title` }, opts.title),
      h('figure', { class: 'chart', id: opts.id },
        this.empty,
        this.box,
        h('figcaption', { class: 'muted' }, opts.caption)));
    this.resize = new ResizeObserver(() => {
      if (this.plot) this.plot.setSize({ width: this.width(), height: HEIGHT });
    });
    this.resize.observe(this.box);
  }

  /** `declared`: the job's reward range, which the y axis spans (widened only for a value outside it). */
  update(data: ChartSeries, colors: Map<string, string>, declared: readonly [number, number] | null = null): void {
    this.declared = declared;
    // Rewards without a point (one reward each so far, on the champion chart) drew empty axes and a
    // legend of dashes, with nothing saying why.
    const pointless = data.x.length > 0 && this.opts.noPoints !== undefined && !data.ys.some((y) => y.some((v) => v !== null && v !== undefined));
    setText(this.empty, pointless ? this.opts.noPoints ?? '' : 'No rewards yet.');
    this.empty.hidden = data.x.length > 0 && !pointless;
    this.raw = data;
    if (data.x.length === 0 || pointless) {
      this.plot?.destroy();
      this.plot = null;
      this.ids = '';
      return;
    }
    const aligned: uPlot.AlignedData = [data.x, ...(this.opts.stacked ? stack(data.ys) : data.ys)];
    const ids = data.ids.join(',');
    if (this.plot && ids === this.ids) {
      this.plot.setData(aligned);
      return;
    }
    this.plot?.destroy();
    this.ids = ids;
    this.plot = new uPlot(this.options(data.ids, colors), aligned, this.box);
    // The legend is the chart's numbers for a screen reader (the canvas has none): three tables
    // without a name, one per chart, could not be told apart or found by name.
    const legend = this.plot.root.querySelector('.u-legend');
    legend?.setAttribute('aria-label', `${this.opts.title}: latest value of each series`);
    // Hundreds of candidates made a legend 1,200 px tall under each chart: it scrolls in a box of its
    // own (styles.css), which the keyboard can reach to scroll it.
    if (legend) {
      const box = h('div', { class: 'legend-scroll', tabindex: '0', role: 'group', 'aria-label': `${this.opts.title}: legend` });
      legend.replaceWith(box);
      box.append(legend);
    }
  }

  destroy(): void {
    this.resize.disconnect();
    this.plot?.destroy();
    this.plot = null;
  }

  /** Series k's share at `idx` (the last point off the plot), rounded with the others of that point. */
  private part(k: number, idx: number | null): number | null {
    const at = idx ?? lastValueIndex(this.raw.ys[k] ?? []);
    if (at === null || (this.raw.ys[k]?.[at] ?? null) === null) return null;
    return wholePercents(this.raw.ys.map((y) => y[at] ?? 0))[k] ?? null;
  }

  /** The job's declared range (widened to any value outside it), else uPlot's own padding of the data. */
  private yScale(min: number | null, max: number | null): uPlot.Range.MinMax {
    if (this.declared) return rewardScale(this.declared, min, max);
    return min === null || max === null ? [0, 1] : uPlot.rangeNum(min, max, 0.1, true);
  }

  private width(): number {
    return Math.max(240, Math.floor(this.box.clientWidth || 480));
  }

  private options(ids: readonly string[], colors: Map<string, string>): uPlot.Options {
    const fmt = this.opts.format;
    const stacked = this.opts.stacked ?? false;
    const axis = { stroke: '#374151', grid: { stroke: '#e5e7eb', width: 1 }, ticks: { stroke: '#d1d5db', width: 1 }, font: '12px system-ui, sans-serif', labelFont: '12px system-ui, sans-serif' };
    const order = stacked ? [...ids].reverse() : [...ids];
    const step = uPlot.paths.stepped?.({ align: 1 });
    return {
      width: this.width(),
      height: HEIGHT,
      scales: { x: { time: false }, y: this.opts.yRange ? { range: this.opts.yRange } : { range: (_u, min, max) => this.yScale(min, max) } },
      // The y extent uPlot settled on, for a test or a look in devtools (the axis is drawn on the canvas).
      hooks: { setScale: [(u, key) => { if (key === 'y') this.box.dataset.yRange = `${u.scales.y?.min ?? ''},${u.scales.y?.max ?? ''}`; }] },
      axes: [
        // x is a reward's index: whole numbers only (a narrow range had ticks at 2.5, 7.5, ...).
        { ...axis, label: this.opts.xLabel, incrs: [...X_INCRS], values: (_u, ticks) => ticks.map((t) => fmtCount(t)) },
        { ...axis, label: this.opts.yLabel, values: (_u, ticks, _axis, _space, step) => ticks.map((t) => fmt(t, step)), size: 56 },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        // Counts read as in the tables ("1,200", not "1200").
        { label: this.opts.xLabel, value: (_u, v) => fmtCount(v) },
        ...order.map((id) => {
          const color = colors.get(id) ?? '#888888';
          const k = ids.indexOf(id);
          const base = {
            label: id,
            stroke: color,
            // Off the plot (idx null) uPlot passes null for every series, so the legend read "—" for
            // every candidate; it shows each series' latest value instead.
            value: (_u: uPlot, v: number | null, _s: number, idx: number | null) => {
              const ys = this.raw.ys[k] ?? [];
              // Parts of a whole are rounded together, so the legend adds up to it.
              const shown = stacked ? this.part(k, idx) : idx === null ? lastValue(ys) : v;
              if (shown === null || shown === undefined) return '—';
              const at = idx ?? lastValueIndex(ys);
              const who = k === 0 && at !== null ? this.opts.whose?.(at) : null;
              return who ? `${fmt(shown)} · ${who}` : fmt(shown);
            },
          };
          return stacked
            ? { ...base, width: 1, fill: tint(color, 0.35), paths: step, points: { show: false } }
            : {
              ...base, width: id === 'baseline' ? 2.5 : 2, dash: id === 'baseline' ? [6, 4] : undefined, spanGaps: false,
              // A point with no neighbour (a candidate's only reward) gets a dot: a line needs two points.
              // Where uPlot shows every point anyway (a sparse chart), it is left to do so.
              points: { fill: color, filter: (u: uPlot, s: number, show: boolean) => (show ? null : nonEmpty(isolatedPoints(u.data[s] ?? []))) },
            };
        }),
      ],
    };
  }
}

function nonEmpty(idxs: number[]): number[] | null {
  return idxs.length > 0 ? idxs : null;
}

function lastValueIndex(ys: ReadonlyArray<number | null>): number | null {
  for (let i = ys.length - 1; i >= 0; i--) if (ys[i] !== null && ys[i] !== undefined) return i;
  return null;
}

function lastValue(ys: ReadonlyArray<number | null>): number | null {
  const at = lastValueIndex(ys);
  return at === null ? null : ys[at] ?? null;
}

/**
 * Cumulative sums, top layer first: uPlot paints series in order, each filling down to zero, so
 * painting the largest sum first and smaller ones over it leaves one visible band per candidate.
 */
function stack(ys: ReadonlyArray<ReadonlyArray<number | null>>): Array<Array<number | null>> {
  const sums: number[][] = [];
  let running: number[] = [];
  for (const y of ys) {
    running = y.map((v, i) => (running[i] ?? 0) + (v ?? 0));
    sums.push(running);
  }
  return sums.reverse();
}

/** An opaque lighter shade (mixed with white), so stacked bands do not blend into each other. */
function tint(hex: string, white: number): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return hex;
  const mix = (c: string | undefined) => Math.round(parseInt(c ?? '0', 16) * (1 - white) + 255 * white);
  return `rgb(${mix(m[1])}, ${mix(m[2])}, ${mix(m[3])})`;
}
