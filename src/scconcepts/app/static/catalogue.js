// The catalogue: every concept with its labels, frequency, cell types, genes, terms and verdict.
import { el, clear, pct, conceptLink, geneLink } from './dom.js';
import { annotationsOrProblem, getJSON } from './api.js';

const MAX_ROWS = 1000;
const state = { query: '', filter: 'all', sort: 'id', descending: false };

const COLUMNS = [
  { key: 'id', title: 'id', value: (r) => r.id },
  { key: 'label', title: 'automatic label', value: (r) => r.label },
  { key: 'expert', title: 'expert label', value: (r) => r.expert?.label || '' },
  { key: 'verdict', title: 'interpretable', value: (r) => verdictOrder(r.expert) },
  { key: 'frequency', title: 'frequency', value: (r) => r.frequency ?? -1 },
  { key: 'types', title: 'top cell types', value: (r) => r.top_cell_types.map((t) => t.cell_type).join(' ') },
  { key: 'genes', title: 'top genes', value: (r) => r.top_genes.join(' ') },
  { key: 'terms', title: 'top terms', value: (r) => r.top_terms.join(' ') },
];

function verdictOrder(expert) {
  if (!expert || expert.interpretable === null || expert.interpretable === undefined) return 0;
  return expert.interpretable ? 2 : 1;
}

function verdictText(expert) {
  return ['–', 'no', 'yes'][verdictOrder(expert)];
}

function words(query) {
  return query.toLowerCase().split(/\s+/).filter(Boolean);
}

// Search looks at the id, labels, expert notes, cell types, every attributed gene and every term.
function matches(row, query) {
  if (!query) return true;
  const hay = [String(row.id), row.label, row.expert?.label || '', row.expert?.note || '',
    ...(row.search_genes || row.top_genes), ...(row.search_terms || row.top_terms),
    ...row.top_cell_types.map((t) => t.cell_type)].join('\n').toLowerCase();
  return words(query).every((word) => hay.includes(word));
}

// What matched beyond the shown genes and terms: "CD79A (gene #4)", a term's full name.
function hiddenMatches(row, query) {
  if (!query) return [];
  const found = [];
  for (const word of words(query)) {
    (row.search_genes || []).forEach((gene, i) => {
      if (i >= row.top_genes.length && gene.toLowerCase() === word) found.push(`${gene} (gene #${i + 1})`);
    });
    for (const term of row.search_terms || []) {
      if (!row.top_terms.includes(term) && term.toLowerCase().includes(word) && !found.includes(term)) found.push(term);
    }
  }
  return found.slice(0, 4);
}

function passes(row) {
  const e = row.expert;
  switch (state.filter) {
    case 'annotated': return Boolean(e);
    case 'unannotated': return !e;
    case 'interpretable': return e?.interpretable === true;
    case 'not-interpretable': return e?.interpretable === false;
    default: return true;
  }
}

export async function cataloguePage(main) {
  const [rows, { notes, problem }] = await Promise.all([getJSON('/api/concepts'), annotationsOrProblem()]);
  const data = rows.map((r) => ({ ...r, expert: notes[String(r.id)] }));
  const search = el('input', { id: 'search', type: 'search', placeholder: 'search id, label, note, cell type, any attributed gene, any term', value: state.query });
  const filter = el('select', { id: 'filter' },
    ['all', 'annotated', 'unannotated', 'interpretable', 'not-interpretable'].map((f) => el('option', { value: f }, f)));
  filter.value = state.filter;
  const count = el('span', { class: 'muted', id: 'count' });
  const body = el('tbody');
  const head = el('tr');
  const render = () => {
    const column = COLUMNS.find((c) => c.key === state.sort);
    const shown = data.filter((r) => passes(r) && matches(r, state.query));
    shown.sort((a, b) => {
      const x = column.value(a), y = column.value(b);
      const order = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
      return (state.descending ? -order : order) || a.id - b.id;
    });
    count.textContent = `${shown.length} of ${data.length} concepts${shown.length > MAX_ROWS ? `, first ${MAX_ROWS} shown` : ''}`;
    clear(body).append(...shown.slice(0, MAX_ROWS).map((r) => rowNode(r, hiddenMatches(r, state.query))));
    clear(head).append(...COLUMNS.map((c) => el('th', {
      class: c.key === state.sort ? (state.descending ? 'sorted desc' : 'sorted asc') : '',
      'data-key': c.key,
      onclick: () => {
        state.descending = state.sort === c.key ? !state.descending : c.key === 'frequency';
        state.sort = c.key;
        render();
      },
    }, c.title)));
  };
  search.addEventListener('input', () => { state.query = search.value; render(); });
  filter.addEventListener('change', () => { state.filter = filter.value; render(); });
  clear(main).append(
    el('h2', {}, 'Concepts'),
    problem ? el('p', { class: 'error', id: 'annotations-problem' }, `Annotations not shown: ${problem}`) : '',
    el('div', { class: 'controls' }, search, filter, count),
    el('table', { id: 'catalogue', class: 'catalogue' }, el('thead', {}, head), body));
  render();
}

function rowNode(r, hidden = []) {
  return el('tr', { 'data-id': r.id },
    el('td', {}, conceptLink(r.id)),
    el('td', {}, r.label),
    el('td', { class: 'expert-label' }, r.expert?.label || ''),
    el('td', {}, verdictText(r.expert)),
    el('td', {}, pct(r.frequency)),
    el('td', {}, r.top_cell_types.map((t) => `${t.cell_type} (${pct(t.share)})`).join(', ')),
    el('td', {}, r.top_genes.flatMap((g, i) => (i ? [', ', geneLink(g)] : [geneLink(g)]))),
    el('td', {}, r.top_terms.join('; '),
      hidden.length ? el('div', { class: 'match' }, 'matched: ', hidden.join('; ')) : ''));
}

