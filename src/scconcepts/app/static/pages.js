// Concept and neuron pages (same layout), gene page, cell-type page and the lists behind them.
import { el, clear, fmt, pct, conceptLink, geneLink, cellTypeLink, notComputed, section, link } from './dom.js';
import { getJSON, getValues, getFloats } from './api.js';
import { histogram, signedBars, composition, table, legend } from './charts.js';
import { Scatter } from './scatter.js';
import { annotationForm } from './annotate.js';
import { steeringPanel } from './steering.js';

let scatter = null;
let loadingMap = null;

async function mapView() {
  if (!loadingMap) {
    loadingMap = (async () => {
      const [info, xy] = await Promise.all([getJSON('/api/info'), getFloats('/api/umap')]);
      scatter = new Scatter();
      scatter.setPositions(xy, info.bounds);
      // above the server's limit the map holds a uniform sample of the cells; say so under each map
      scatter.note = info.n_shown < info.n_cells
        ? `the map shows a uniform sample of ${info.n_shown.toLocaleString('en')} of the ${info.n_cells.toLocaleString('en')} cells`
        : '';
      return scatter;
    })();
  }
  return loadingMap;
}

function neighbourList(rows, title, what) {
  if (rows === null || rows === undefined) return notComputed(title);
  if (!rows.length) return el('p', { class: 'muted' }, 'none');
  return el('ol', { class: 'neighbours' }, rows.map((r) => el('li', {},
    conceptLink(r.concept, r.label), el('span', { class: 'muted' }, ` ${what} ${fmt(r.score)}`))));
}

function enrichmentTable(rows) {
  if (rows === null) return notComputed('Enrichment');
  if (!rows.length) return el('p', { class: 'muted' }, 'no term');
  const holder = el('div');
  let onlyTerms = true;
  const toggle = el('button', { type: 'button', id: 'enrichment-toggle' });
  const render = () => {
    toggle.textContent = onlyTerms ? 'show every tested row' : "show the concept's terms";
    const shown = rows.filter((r) => !onlyTerms || r.is_term);
    clear(holder).append(el('p', { class: 'muted' }, onlyTerms
      ? `terms (enriched in the attribution ranking, significant, kept by elim): ${shown.length} of ${rows.length} rows`
      : `every tested row: ${rows.length}, both rankings and signs`),
      table([
        { title: 'term', value: (r) => r.term },
        { title: 'id', value: (r) => r.term_id },
        { title: 'source', value: (r) => r.source },
        { title: 'ranking', value: (r) => r.ranking },
        { title: 'sign', value: (r) => r.sign },
        { title: 'score', value: (r) => r.score },
        { title: 'p', value: (r) => r.pval },
        { title: 'adj. p', value: (r) => r.padj },
        { title: 'elim', value: (r) => (r.elim ? 'kept' : 'removed') },
      ], shown, { id: 'enrichment' }));
  };
  toggle.addEventListener('click', () => { onlyTerms = !onlyTerms; render(); });
  render();
  return el('div', {}, toggle, holder);
}

function genesBlock(doc) {
  const attribution = doc.attribution === null ? notComputed('Attribution')
    : signedBars([...doc.attribution.positive, ...doc.attribution.negative.slice().reverse()]
      .map((g) => ({ name: geneLink(g.gene), value: g.score })));
  const de = doc.de === null ? notComputed('Differential expression')
    : signedBars(doc.de.map((g) => ({ name: geneLink(g.gene), value: g.score })));
  return el('div', { class: 'two' },
    section('Attributed genes (signed)', el('div', { id: 'attribution' }, attribution)),
    section('Differentially expressed genes', el('div', { id: 'de' }, de)));
}

// A token run's concept: its top genes by per-gene token activation beside its counterfactually attributed genes.
function tokenGenesBlock(t, attribution) {
  const tokens = t.genes === null ? notComputed('Per-gene token activation')
    : !t.genes.length ? el('p', { class: 'muted' }, 'no gene token activates this concept')
      : table([
        { title: 'gene', value: (r) => geneLink(r.gene) },
        { title: 'token activation', value: (r) => r.score },
        { title: 'cells with its token', value: (r) => (r.n_cells === null ? '–' : r.n_cells) },
      ], t.genes, { id: 'token-genes-table' });
  const attributed = attribution === null || t.attribution === null
    ? el('p', { class: 'muted not-computed' }, 'Counterfactual attribution: not computed for this token run')
    : signedBars(attribution.positive.map((g) => ({ name: geneLink(g.gene), value: g.score })));
  return section(`Gene tokens (${t.layer ?? 'layer ?'}) beside attributed genes`,
    el('p', { class: 'muted', id: 'token-genes-note' },
      "left: which gene tokens carry the concept (the mean of its activation on a gene's token over the cells where "
      + "that token is present); right: which genes cause it (counterfactual attribution: the change of the "
      + "concept's per-cell activation when the gene's expression is perturbed)"),
    el('div', { class: 'two', id: 'token-genes' },
      el('div', {}, el('h4', {}, 'Gene tokens'), tokens),
      el('div', {}, el('h4', {}, 'Attributed genes (counterfactual)'), attributed)));
}

// A token run's map: per cell the max (the concept's activation) or the mean over the cell's tokens.
function tokenViewChoice(id, view, shownLegend) {
  let shown = shownLegend;
  const select = el('select', { id: 'token-view' },
    el('option', { value: 'max' }, 'max over the cell\'s tokens'),
    el('option', { value: 'mean' }, 'mean over the cell\'s tokens'));
  select.addEventListener('change', async () => {
    const url = select.value === 'mean' ? `/api/concepts/${id}/token-mean` : `/api/concepts/${id}/activations`;
    const values = await getValues(url);
    if (view.canvas.dataset.drawn !== `concept:${id}`) return; // the page changed while the values came
    const n = values.values.length;
    const vmax = n ? values.values[Math.floor(0.99 * (n - 1))] : 1;
    view.setValues(values.indices, values.values, 0, vmax);
    const fresh = legend(0, vmax);
    shown.replaceWith(fresh);
    shown = fresh;
    view.draw();
    view.canvas.dataset.view = select.value;
  });
  return el('p', {}, el('label', {}, 'per cell: ', select));
}

// How far the concept falls in its top cells when each gene set is set to its baseline together.
function faithfulnessBlock(f) {
  if (f === null || f === undefined) return notComputed('Faithfulness');
  if (f.fall_attributed === null) return el('p', { class: 'muted' }, 'not measured: no cell activates this concept');
  const n = f.n_genes ?? 10;
  const rows = [
    { set: `top-${n} attributed genes`, fall: pct(f.fall_attributed) },
    { set: `top-${n} DE genes`, fall: pct(f.fall_de) },
    { set: `${n} random expressed genes (${f.n_random ?? ''} draws)`, fall: `${pct(f.fall_random)} ± ${pct(f.fall_random_sd)}` },
  ];
  const verdict = f.faithful
    ? `faithful: the attributed genes lower the concept at least as far as its DE genes and beyond random (mean + ${f.n_sd} sd)`
    : `not faithful: the attributed genes ${[f.beats_de ? '' : 'lower it less than its DE genes', f.beats_random ? '' : `do not beat random genes (mean + ${f.n_sd} sd)`].filter(Boolean).join(' and ')}`;
  return el('div', { id: 'faithfulness' },
    el('p', { class: f.faithful ? 'verdict faithful' : 'verdict unfaithful' }, verdict),
    table([{ title: 'genes set to the baseline', value: (r) => r.set }, { title: 'fall of the concept', value: (r) => r.fall }], rows),
    el('p', { class: 'muted' }, `in its ${f.n_cells ?? 50} most active cells; the baseline is the mean over the cells where it is inactive`));
}

// Whether the label's term holds beyond the concept's top genes (its other members against matched random genes).
function termSupportBlock(row) {
  if (!row || !row.term_support) return el('p', { class: 'muted' }, 'no label term tested');
  const held = row.term_support === 'held-out members';
  return el('div', { id: 'term-support' },
    el('p', { class: held ? 'verdict faithful' : 'verdict unfaithful' }, held
      ? `the term "${row.top_term}" holds beyond the top genes: its ${row.n_term_held_out} other members lower the concept by ${pct(row.fall_term_held_out)}, beyond expression-matched random genes (${pct(row.fall_term_matched)} ± ${pct(row.fall_term_matched_sd)})`
      : `the term "${row.top_term}" rests on the top genes alone: its ${row.n_term_held_out ?? 0} other members lower the concept by ${pct(row.fall_term_held_out)}, not beyond expression-matched random genes (${pct(row.fall_term_matched)} ± ${pct(row.fall_term_matched_sd)})`));
}

function topCells(rows) {
  if (!rows.length) return el('p', { class: 'muted' }, 'none');
  const keys = Object.keys(rows[0].obs);
  return table([
    { title: 'cell', value: (r) => r.cell },
    { title: 'value', value: (r) => r.value },
    ...keys.map((k) => ({ title: k, value: (r) => (r.obs[k] === null ? '–' : r.obs[k]) })),
  ], rows, { id: 'top-cells' });
}

// kind: 'concept' or 'neuron'; token: a function telling whether this page is still the current one.
export async function featurePage(main, kind, id, current) {
  const base = kind === 'concept' ? `/api/concepts/${id}` : `/api/neurons/${id}`;
  const [doc, values, view, info] = await Promise.all([getJSON(base), getValues(`${base}/activations`), mapView(), getJSON('/api/info')]);
  if (!current()) return;
  const vmin = kind === 'concept' ? 0 : values.values[0];
  // colour scale up to the 99th percentile, so that a few extreme cells do not wash out the rest
  const n = values.values.length;
  const vmax = n ? values.values[Math.floor(0.99 * (n - 1))] : 1;
  view.setValues(values.indices, values.values, vmin, vmax);
  const total = kind === 'concept' ? info.n_concepts : info.n_neurons;
  const prefix = kind === 'concept' ? '#/concept/' : '#/neuron/';
  const nav = el('span', { class: 'pager' },
    id > 0 ? link(`${prefix}${id - 1}`, '← previous') : '', ' ',
    id + 1 < total ? link(`${prefix}${id + 1}`, 'next →') : '');
  const stats = el('dl', { class: 'stats' }, Object.entries(doc.row).flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, typeof v === 'number' ? fmt(v) : String(v ?? '–'))]),
    el('dt', {}, kind === 'concept' ? 'active cells' : doc.composition_of), el('dd', {}, `${doc.n_active} of ${info.n_cells}`));
  const side = [section('Activation histogram', histogram(doc.histogram)), section('Summary', stats)];
  if (kind === 'concept') side.unshift(await annotationForm(id));
  if (!current()) return;
  const title = kind === 'concept' ? `Concept ${id}` : `Neuron ${id}`;
  const neighbours = kind === 'concept'
    ? el('div', { class: 'two' },
      section('Neighbours by decoder cosine', el('div', { id: 'cosine' }, neighbourList(doc.cosine, 'Decoder cosine', 'cos'))),
      section('Neighbours by co-activation', el('div', { id: 'coactivation' }, neighbourList(doc.coactivation, 'Co-activation', 'Jaccard'))))
    : el('div', { class: 'two' },
      section('Concepts writing on this dimension', el('div', { id: 'cosine' }, neighbourList(doc.cosine, 'Decoder weights', 'weight'))),
      section('Correlated neurons', el('ol', {}, doc.similar_neurons.map((n) => el('li', {}, link(`#/neuron/${n.neuron}`, `neuron ${n.neuron}`), ` r = ${fmt(n.score)}`)))));
  const mapLegend = legend(vmin, vmax);
  const tokens = kind === 'concept' ? doc.tokens : null;
  if (tokens) view.canvas.dataset.view = 'max';
  const mapCard = section('Map', view.canvas, mapLegend,
    tokens && tokens.per_cell_mean ? tokenViewChoice(id, view, mapLegend) : '',
    el('p', { class: 'muted' }, 'scroll to zoom, drag to pan, double-click to reset'),
    view.note ? el('p', { class: 'muted', id: 'map-sample' }, view.note) : '');
  clear(main).append(
    el('h2', { id: 'page-title', 'data-kind': kind, 'data-id': id }, title, ' ', el('span', { class: 'auto-label' }, doc.label), ' ', nav),
    el('div', { class: 'grid' }, mapCard, el('div', { class: 'side' }, side)),
    section(`Cell types of the ${doc.composition_of} against all cells`,
      doc.composition ? composition(doc.composition.map((r) => ({ ...r, name: cellTypeLink(r.cell_type) })),
        kind === 'concept' ? 'share of the activation' : 'these cells') : notComputed('Cell types')),
    tokens ? tokenGenesBlock(tokens, doc.attribution) : '',
    genesBlock(doc),
    kind === 'concept' ? section('Faithfulness: does taking the genes away lower the concept?', faithfulnessBlock(doc.faithfulness)) : '',
    section('Enrichment', enrichmentTable(doc.enrichment), kind === 'concept' ? termSupportBlock(doc.row) : ''),
    kind === 'concept' ? steeringPanel(id) : '',
    neighbours,
    section('Top cells', topCells(doc.top_cells)));
  view.draw();
  view.canvas.dataset.drawn = `${kind}:${id}`;
  document.body.dataset.painted = `${kind}:${id}`;
}

export async function neuronsPage(main) {
  const info = await getJSON('/api/info');
  clear(main).append(el('h2', {}, 'Neurons (embedding dimensions)'),
    info.n_neurons ? el('ol', { start: 0, class: 'columns' }, Array.from({ length: info.n_neurons }, (_, d) =>
      el('li', {}, link(`#/neuron/${d}`, `${info.embedding} dimension ${d}`))))
      : notComputed('Embedding'));
}

export async function genesPage(main) {
  const input = el('input', { id: 'gene-search', type: 'search', placeholder: 'gene name' });
  const list = el('ul', { class: 'columns', id: 'gene-list' });
  const update = async () => {
    const genes = await getJSON(`/api/genes?q=${encodeURIComponent(input.value)}`, { fresh: true });
    clear(list).append(...genes.map((g) => el('li', {}, geneLink(g))));
  };
  input.addEventListener('input', update);
  clear(main).append(el('h2', {}, 'Genes'), input, list);
  await update();
}

export async function genePage(main, name, current = () => true) {
  const base = `/api/genes/${encodeURIComponent(name)}`;
  const [doc, values, view] = await Promise.all([getJSON(base), getValues(`${base}/expression`), mapView()]);
  if (!current()) return;
  const n = values.values.length;
  const vmax = n ? values.values[Math.floor(0.99 * (n - 1))] : 1;
  view.setValues(values.indices, values.values, 0, vmax);
  // full labels: the bars wrap long names instead of cutting them
  const rows = (list, title, id) => (list === null ? notComputed(title)
    : signedBars(list.map((r) => ({ name: conceptLink(r.concept, r.label), value: r.score })), { wrap: true, id }));
  const mapCard = section('Expression on the map (log-normalised)', view.canvas, legend(0, vmax),
    el('p', { class: 'muted', id: 'gene-expressing' }, `expressed in ${doc.n_expressing} of ${doc.n_cells} cells; grey: not expressed`),
    view.note ? el('p', { class: 'muted', id: 'map-sample' }, view.note) : '');
  clear(main).append(el('h2', {}, 'Gene ', el('span', { id: 'gene-name' }, doc.gene)),
    el('div', { class: 'grid' }, mapCard,
      el('div', { class: 'side' }, section('Concepts it drives (attribution)', el('div', { id: 'drives' }, rows(doc.drives, 'Attribution', 'drives-bars'))))),
    doc.tokens ? section(`Concepts its token carries (${doc.tokens.layer ?? 'layer ?'})`,
      el('p', { class: 'muted', id: 'gene-token-note' }, doc.tokens.n_cells === null
        ? "mean activation on the gene's token over the cells where it is present"
        : `mean activation on the gene's token over the ${doc.tokens.n_cells} cells where it is present`),
      rows(doc.tokens.concepts, 'Gene tokens', 'gene-token-bars')) : '',
    el('div', { class: 'two' },
      section('Concepts it represses (attribution)', rows(doc.represses, 'Attribution')),
      section('Concepts where it is differentially expressed', rows(doc.de, 'Differential expression'))));
  view.draw();
  view.canvas.dataset.drawn = `gene:${doc.gene}`;
  document.body.dataset.painted = `gene:${doc.gene}`;
}

export async function cellTypesPage(main) {
  const types = await getJSON('/api/cell-types');
  clear(main).append(el('h2', {}, 'Cell types'), types === null ? notComputed('Cell types')
    : el('ul', {}, types.map((t) => el('li', {}, cellTypeLink(t.cell_type), ` (${t.n_cells} cells)`))));
}

export async function cellTypePage(main, name) {
  const doc = await getJSON(`/api/cell-types/${encodeURIComponent(name)}`);
  clear(main).append(el('h2', {}, 'Cell type ', el('span', { id: 'cell-type-name' }, doc.cell_type), ` (${doc.n_cells} cells)`),
    section('Concepts that fire in it', table([
      { title: 'concept', value: (r) => conceptLink(r.concept, r.label) },
      { title: 'cells of this type', value: (r) => pct(r.fraction) },
      { title: 'all cells', value: (r) => pct(r.overall) },
      { title: 'lift', value: (r) => r.lift },
    ], doc.concepts, { id: 'cell-type-concepts' })));
}
