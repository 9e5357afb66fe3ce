// The "what if" panel of a concept page: switch the concept off or double it, see the genes and the cells move.
import { el, svg, clear, fmt, pct, geneLink, section } from './dom.js';
import { getJSON } from './api.js';

const SIZE = 260;

function geneList(rows, cls) {
  if (!rows.length) return el('p', { class: 'muted' }, 'no gene beyond the null');
  return el('ol', { class: `steer-genes ${cls}` }, rows.map((r) => el('li', {}, geneLink(r.gene), ` ${fmt(r.lfc, 2)}`)));
}

function scale(points) {
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const s = (SIZE - 10) / Math.max(x1 - x0, y1 - y0, 1e-9);
  return (p) => [5 + (p[0] - x0) * s, SIZE - 5 - (p[1] - y0) * s];
}

function movesMap(doc) {
  const { original = [], steered = [] } = doc.moves;
  const all = doc.background.concat(original, steered);
  if (!all.length) return el('p', { class: 'muted' }, 'no map');
  const at = scale(all);
  const dots = doc.background.map((p) => { const [x, y] = at(p); return svg('circle', { cx: x, cy: y, r: 1, fill: '#d1d5db' }); });
  const arrows = original.map((p, i) => {
    const [x0, y0] = at(p);
    const [x1, y1] = at(steered[i]);
    return svg('line', { x1: x0, y1: y0, x2: x1, y2: y1, stroke: '#7c3aed', 'stroke-width': 0.6, 'stroke-opacity': 0.5 });
  });
  const before = original.map((p) => { const [x, y] = at(p); return svg('circle', { cx: x, cy: y, r: 1.6, fill: '#f59e0b' }); });
  const after = steered.map((p) => { const [x, y] = at(p); return svg('circle', { class: 'steered', cx: x, cy: y, r: 1.6, fill: '#7c3aed' }); });
  return svg('svg', { id: 'steer-map', width: SIZE, height: SIZE, viewBox: `0 0 ${SIZE} ${SIZE}` }, dots, arrows, before, after);
}

function landingTable(rows) {
  if (!rows.length) return '';
  return el('table', { id: 'steer-landing' },
    el('tr', {}, el('th', {}, 'neighbours'), el('th', {}, 'before'), el('th', {}, 'after'), el('th', {}, 'random')),
    rows.map((r) => el('tr', {}, el('td', {}, r.cell_type), el('td', {}, pct(r.share_original)),
      el('td', {}, pct(r.share_steered)), el('td', { class: 'muted' }, pct(r.share_null)))));
}

function render(body, doc) {
  const nullText = doc.null_abs_lfc === null ? '' : ` (chance: |log2 FC| ${fmt(doc.null_abs_lfc, 2)} for a random direction of the same size; ${doc.n_beyond_null} genes beyond it)`;
  clear(body).append(
    el('p', { class: 'muted', id: 'steer-summary' }, `${doc.value} in ${doc.n_cells} cells (${doc.cells})${nullText}`),
    doc.note ? el('p', { class: 'muted' }, doc.note) : '',
    el('div', { class: 'two' },
      el('div', {}, el('h4', {}, 'genes down'), geneList(doc.down, 'down'), el('h4', {}, 'genes up'), geneList(doc.up, 'up')),
      el('div', {}, movesMap(doc), el('p', { class: 'muted' }, 'orange: the cells now; purple: where steering moves them'), landingTable(doc.landing))));
}

const CONTROL_NAMES = {
  steered: 'steered (chosen concepts)', sign_flipped: 'same concepts, sign flipped', random_concepts: 'random concepts',
  random_directions: 'random directions', centroid: 'centroid shift (no concepts)',
};

function renderToward(body, doc) {
  const hasDe = doc.controls.length && doc.controls[0].de_right_way !== undefined;
  const rows = doc.controls.map((r) => el('tr', {}, el('td', {}, CONTROL_NAMES[r.control] || r.control),
    el('td', {}, pct(r.landing_knn)), el('td', {}, pct(r.landing_classifier)),
    hasDe ? el('td', {}, fmt(r.de_right_way, 1)) : ''));
  const concepts = doc.concepts.map((c) => `${c.concept} (d ${fmt(c.effect, 2)})`).join(', ');
  const markers = Object.entries(doc.markers).map(([g, v]) => `${g} ${fmt(v, 2)}`).join(', ');
  clear(body).append(
    el('p', { class: 'muted', id: 'toward-summary' },
      `${doc.n_cells} cells of ${doc.cells} toward ${doc.toward} through ${doc.n_concepts} of ${doc.n_dictionary} concepts: ${concepts}`),
    doc.note ? el('p', { class: 'muted' }, doc.note) : '',
    el('table', { id: 'toward-controls' },
      el('tr', {}, el('th', {}, 'move (same size)'), el('th', {}, 'land among target'), el('th', {}, 'classified target'),
        hasDe ? el('th', {}, 'top-20 DE genes right way') : ''), rows),
    markers ? el('p', { class: 'muted' }, `markers (log2 FC): ${markers}`) : '',
    doc.genes.length ? el('ol', { class: 'steer-genes' }, doc.genes.map((g) => el('li', {}, geneLink(g.gene),
      ` ${fmt(g.lfc, 2)} (target vs source ${fmt(g.de_lfc, 2)})`))) : '');
}

function towardForm() {
  const body = el('div', { id: 'toward-body' });
  const source = el('input', { type: 'text', id: 'toward-cells', placeholder: 'cells: a type or a query' });
  const target = el('input', { type: 'text', id: 'toward-target', placeholder: 'toward: a type or a query' });
  const go = async () => {
    clear(body).append(el('p', { class: 'muted' }, 'steering…'));
    try {
      const query = `cells=${encodeURIComponent(source.value)}&toward=${encodeURIComponent(target.value)}`;
      renderToward(body, await getJSON(`/api/steer/toward?${query}`));
    } catch (error) {
      clear(body).append(el('p', { class: 'muted', id: 'toward-error' }, String(error.message || error)));
    }
    document.body.dataset.toward = `${source.value}->${target.value}`;
  };
  return el('div', { class: 'steer-toward' }, el('h4', {}, 'Steer cells toward another state'), source, ' ', target, ' ',
    el('button', { type: 'button', id: 'toward-go', onclick: go }, 'steer toward'), body);
}

export function steeringPanel(id) {
  const body = el('div', { id: 'steer-body' }, el('p', { class: 'muted' }, 'What changes if this concept is switched off, or doubled, in the cells where it is active?'));
  const run = async (value) => {
    clear(body).append(el('p', { class: 'muted' }, `steering ${value}…`));
    try {
      const doc = await getJSON(`/api/concepts/${id}/steer?value=${value}`);
      render(body, doc);
    } catch (error) {
      clear(body).append(el('p', { class: 'muted', id: 'steer-error' }, String(error.message || error)));
    }
    document.body.dataset.steered = `${id}:${value}`;
  };
  const buttons = el('div', { class: 'steer-buttons' },
    el('button', { type: 'button', id: 'steer-off', onclick: () => run('off') }, 'switch off'),
    ' ',
    el('button', { type: 'button', id: 'steer-x2', onclick: () => run('x2') }, '× 2'));
  return section('What if', buttons, body, towardForm());
}
