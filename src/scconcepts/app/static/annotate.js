// Expert annotation of a concept (label, note, confidence, interpretable) and the agreement page.
import { el, clear, fmt, pct, conceptLink, section } from './dom.js';
import { annotationsOrProblem, getJSON, putJSON } from './api.js';
import { table } from './charts.js';

export async function annotationForm(id) {
  const { notes, problem } = await annotationsOrProblem();
  const saved = notes[String(id)] || {};
  const label = el('input', { id: 'ann-label', name: 'label', maxlength: 200, placeholder: 'your label', autocomplete: 'off' });
  label.value = saved.label || '';
  const note = el('textarea', { id: 'ann-note', name: 'note', maxlength: 4000, rows: 3, placeholder: 'note' });
  note.value = saved.note || '';
  const confidence = el('select', { id: 'ann-confidence', name: 'confidence' },
    el('option', { value: '' }, '–'), [1, 2, 3, 4, 5].map((c) => el('option', { value: c }, String(c))));
  confidence.value = saved.confidence ? String(saved.confidence) : '';
  const verdict = el('select', { id: 'ann-interpretable', name: 'interpretable' },
    el('option', { value: '' }, 'not judged'), el('option', { value: 'yes' }, 'yes'), el('option', { value: 'no' }, 'no'));
  verdict.value = saved.interpretable === true ? 'yes' : saved.interpretable === false ? 'no' : '';
  const status = problem
    ? el('span', { id: 'ann-status', class: 'error' }, `annotations unavailable: ${problem}`)
    : el('span', { id: 'ann-status', class: 'muted' }, saved.updated ? `saved ${saved.updated}` : 'not annotated');
  const form = el('form', { id: 'annotation', class: 'annotation' },
    el('label', {}, 'Label ', label),
    el('label', {}, 'Note ', note),
    el('div', { class: 'row' },
      el('label', {}, 'Confidence ', confidence),
      el('label', {}, 'Interpretable ', verdict),
      el('button', { type: 'submit', id: 'ann-save' }, 'Save')),
    status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {
      label: label.value.trim(),
      note: note.value,
      confidence: confidence.value ? Number(confidence.value) : null,
      interpretable: verdict.value === '' ? null : verdict.value === 'yes',
    };
    try {
      const record = await putJSON(`/api/annotations/${id}`, body);
      status.textContent = `saved ${record.updated}`;
      status.className = 'ok';
      document.dispatchEvent(new CustomEvent('annotation-saved', { detail: { id, record } }));
    } catch (error) {
      status.textContent = `not saved: ${error.message}`;
      status.className = 'error';
    }
  });
  return section('Expert annotation', form);
}

export async function agreementPage(main) {
  const [summary, catalogue] = await Promise.all([getJSON('/api/agreement', { fresh: true }), getJSON('/api/concepts')]);
  clear(main).append(
    el('h2', {}, 'Annotations'),
    el('p', {}, el('a', { href: '/api/annotations.csv', download: 'annotations.csv', id: 'export-csv' }, 'Export annotations as CSV')),
    section('Agreement between expert and automatic labels',
      el('dl', { class: 'stats', id: 'agreement' },
        el('dt', {}, 'annotated'), el('dd', {}, `${summary.n_annotated} of ${catalogue.length} concepts`),
        el('dt', {}, 'interpretable'), el('dd', {}, `${summary.n_interpretable} yes, ${summary.n_not_interpretable} no`),
        el('dt', {}, 'same words'), el('dd', {}, pct(summary.exact)),
        el('dt', {}, `overlap ≥ ${summary.agree_at}`), el('dd', {}, pct(summary.agree)),
        el('dt', {}, 'mean overlap'), el('dd', {}, fmt(summary.mean_similarity))),
      summary.rows.length ? table([
        { title: 'concept', value: (r) => conceptLink(r.concept) },
        { title: 'expert label', value: (r) => r.expert },
        { title: 'automatic label', value: (r) => r.automatic },
        { title: 'overlap', value: (r) => r.similarity },
        { title: 'agree', value: (r) => (r.agree ? 'yes' : 'no') },
      ], summary.rows, { id: 'agreement-rows' }) : el('p', { class: 'muted' }, 'no expert label yet')));
}
