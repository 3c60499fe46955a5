/** One curve of the chart. */
export interface Series {
  label: string;
  color: string;
  values: readonly number[];
}

/** Plot geometry for loss curves: log-scaled y, since losses fall by orders of magnitude. */
export interface Frame {
  width: number;
  height: number;
  pad: { left: number; right: number; top: number; bottom: number };
}

export interface Scale {
  steps: number;
  logMin: number;
  logMax: number;
}

const FLOOR = 1e-6;

/** The y range (in log10) that holds every finite, positive loss of every series. */
export function scaleFor(series: readonly (readonly number[])[]): Scale | null {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  let steps = 0;
  for (const s of series) {
    steps = Math.max(steps, s.length);
    for (const v of s) {
      if (!Number.isFinite(v)) continue;
      const l = Math.log10(Math.max(v, FLOOR));
      lo = Math.min(lo, l);
      hi = Math.max(hi, l);
    }
  }
  if (steps < 2 || !Number.isFinite(lo)) return null;
  // a little room above and below, so the curves never touch the frame
  const pad = Math.max(0.05, 0.05 * (hi - lo));
  return { steps, logMin: lo - pad, logMax: hi + pad };
}

export function xOf(step: number, scale: Scale, f: Frame): number {
  const w = f.width - f.pad.left - f.pad.right;
  return f.pad.left + (w * step) / Math.max(1, scale.steps - 1);
}

export function yOf(loss: number, scale: Scale, f: Frame): number {
  const h = f.height - f.pad.top - f.pad.bottom;
  const l = Math.log10(Math.max(loss, FLOOR));
  return f.pad.top + (h * (scale.logMax - l)) / (scale.logMax - scale.logMin);
}

/**
 * An SVG polyline's points. Long series are thinned to about one point per pixel column, keeping
 * each column's mean, so the chart stays cheap to redraw after every step.
 */
export function polylinePoints(series: readonly number[], scale: Scale, f: Frame): string {
  const columns = Math.max(1, Math.floor(f.width - f.pad.left - f.pad.right));
  const per = Math.max(1, Math.ceil(series.length / columns));
  const pts: string[] = [];
  for (let i = 0; i < series.length; i += per) {
    let sum = 0;
    let n = 0;
    for (let j = i; j < Math.min(series.length, i + per); j++) {
      if (Number.isFinite(series[j])) {
        sum += series[j];
        n++;
      }
    }
    if (n === 0) continue;
    const mid = Math.min(series.length - 1, i + (per - 1) / 2);
    pts.push(`${xOf(mid, scale, f).toFixed(1)},${yOf(sum / n, scale, f).toFixed(1)}`);
  }
  return pts.join(' ');
}

/** Gridlines at 1, 2 and 5 times each power of ten inside the range, or decades only when it is wide. */
export function logTicks(scale: Scale): number[] {
  const wide = scale.logMax - scale.logMin > 2;
  const out: number[] = [];
  for (let e = Math.floor(scale.logMin); e <= Math.ceil(scale.logMax); e++) {
    for (const m of wide ? [1] : [1, 2, 5]) {
      const l = Math.log10(m) + e;
      // through toPrecision, so that 1e-4 is 0.0001 and not 0.00009999999999999999
      if (l >= scale.logMin && l <= scale.logMax) out.push(Number((m * 10 ** e).toPrecision(1)));
    }
  }
  return out;
}
