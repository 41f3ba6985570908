// Small inline SVG charts (no script, no external asset): a sparkline of a series and a labelled bar. Each carries
// a text alternative (role="img" + aria-label), so the figures are read out too. Pure functions of numbers.
import { h, type Html } from './layout.ts';

export function sparkline(values: readonly number[], label: string, width = 160, height = 32): Html {
  const max = Math.max(...values, 0);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values
    .map(
      (v, i) =>
        `${(i * step).toFixed(1)},${(height - 2 - (max === 0 ? 0 : (v / max) * (height - 4))).toFixed(1)}`,
    )
    .join(' ');
  return h`<svg class="spark" role="img" aria-label="${label}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"><polyline fill="none" stroke="currentColor" stroke-width="2" points="${points}"/></svg>`;
}

export function bar(value: number, max: number, label: string, width = 120, height = 12): Html {
  const filled = max <= 0 ? 0 : Math.max(1, Math.round((value / max) * width));
  return h`<svg class="bar" role="img" aria-label="${label}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}"><rect width="${width}" height="${height}" class="bar-bg"/><rect width="${filled}" height="${height}" class="bar-fg"/></svg>`;
}
