// Small charts built from DOM nodes: histogram (SVG), signed bars, composition bars, tables.
import { el, svg, fmt, pct } from './dom.js';

export function histogram(hist, { width = 320, height = 120 } = {}) {
  const counts = hist.counts || [];
  if (!counts.length) return el('p', { class: 'muted' }, 'no cell carries a value');
  const max = Math.max(...counts, 1);
  const barW = width / counts.length;
  const bars = counts.map((c, i) => svg('rect', {
    x: (i * barW).toFixed(2), y: (height - (c / max) * height).toFixed(2),
    width: Math.max(barW - 1, 1).toFixed(2), height: ((c / max) * height).toFixed(2), class: 'bar',
  }, svg('title', {}, `${fmt(hist.edges[i])} – ${fmt(hist.edges[i + 1])}: ${c} cells`)));
  const edges = hist.edges;
  return el('figure', { class: 'histogram' },
    svg('svg', { viewBox: `0 0 ${width} ${height + 16}`, width, height: height + 16, role: 'img' },
      ...bars,
      svg('text', { x: 0, y: height + 13, class: 'axis' }, fmt(edges[0])),
      svg('text', { x: width, y: height + 13, class: 'axis', 'text-anchor': 'end' }, fmt(edges[edges.length - 1]))),
    el('figcaption', {}, hist.zeros ? `${hist.zeros} cells at zero not shown` : 'all cells'));
}

// rows: [{name: Node|string, value: number}] drawn as bars left (negative) or right (positive) of zero.
// wrap: long names wrap onto more lines instead of being cut off.
export function signedBars(rows, { wrap = false, id = null } = {}) {
  if (!rows.length) return el('p', { class: 'muted' }, 'none');
  const max = Math.max(...rows.map((r) => Math.abs(r.value)), 1e-12);
  return el('div', { class: wrap ? 'bars wrap' : 'bars', id }, rows.map((r) => {
    const bar = el('span', { class: r.value >= 0 ? 'bar pos' : 'bar neg' });
    bar.style.width = `${(50 * Math.abs(r.value)) / max}%`;
    if (r.value < 0) bar.style.right = '50%'; else bar.style.left = '50%';
    return el('div', { class: 'bar-row' },
      el('span', { class: 'bar-name' }, r.name),
      el('span', { class: 'bar-track' }, el('span', { class: 'zero' }), bar),
      el('span', { class: 'bar-value' }, fmt(r.value)));
  }));
}

// rows: [{name, share, background}] drawn as a pair of bars per cell type; `what` names the shares.
export function composition(rows, what = 'these cells') {
  return el('div', { class: 'bars composition' }, rows.map((r) => {
    const fg = el('span', { class: 'bar share' });
    fg.style.width = `${100 * r.share}%`;
    const bg = el('span', { class: 'bar background' });
    bg.style.width = `${100 * r.background}%`;
    return el('div', { class: 'bar-row' },
      el('span', { class: 'bar-name' }, r.name),
      el('span', { class: 'bar-track stacked' }, fg, bg),
      el('span', { class: 'bar-value' }, `${pct(r.share)} vs ${pct(r.background)}`));
  }), el('p', { class: 'legend' }, el('span', { class: 'swatch share' }), ` ${what} `,
    el('span', { class: 'swatch background' }), ' all cells'));
}

// columns: [{title, value: (row) => Node|string|number}]
export function table(columns, rows, attrs = {}) {
  return el('table', attrs,
    el('thead', {}, el('tr', {}, columns.map((c) => el('th', {}, c.title)))),
    el('tbody', {}, rows.map((row) => el('tr', {}, columns.map((c) => {
      const v = c.value(row);
      return el('td', {}, typeof v === 'number' ? fmt(v) : v instanceof Node ? v : String(v ?? '–'));
    })))));
}

export function legend(vmin, vmax) {
  return el('div', { class: 'ramp-legend' }, el('span', {}, fmt(vmin)), el('span', { class: 'ramp' }), el('span', {}, fmt(vmax)));
}
