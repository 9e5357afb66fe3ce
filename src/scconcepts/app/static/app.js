// Hash router of the explorer: #/ catalogue, #/concept/N, #/neuron/N, #/gene/NAME, #/cell-type/NAME...
import { el, clear } from './dom.js';
import { getJSON } from './api.js';
import { cataloguePage } from './catalogue.js';
import { featurePage, neuronsPage, genesPage, genePage, cellTypesPage, cellTypePage } from './pages.js';
import { agreementPage } from './annotate.js';

const main = document.getElementById('main');
let navigation = 0;

async function route() {
  const token = ++navigation;
  const current = () => token === navigation;
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const started = performance.now();
  try {
    switch (parts[0]) {
      case 'concept': await featurePage(main, 'concept', Number.parseInt(parts[1], 10), current); break;
      case 'neuron': await featurePage(main, 'neuron', Number.parseInt(parts[1], 10), current); break;
      case 'neurons': await neuronsPage(main); break;
      case 'genes': await genesPage(main); break;
      case 'gene': await genePage(main, parts.slice(1).join('/'), current); break;
      case 'cell-types': await cellTypesPage(main); break;
      case 'cell-type': await cellTypePage(main, parts.slice(1).join('/')); break;
      case 'annotations': await agreementPage(main); break;
      default: await cataloguePage(main);
    }
    if (current()) window.scconceptsLastRoute = { hash: location.hash, ms: performance.now() - started };
  } catch (error) {
    if (current()) clear(main).append(el('p', { class: 'error' }, `Could not show this page: ${error.message}`));
  }
}

getJSON('/api/info').then((info) => {
  document.getElementById('folder').textContent = `${info.folder}: ${info.n_concepts} concepts, ${info.n_cells} cells`;
});
window.addEventListener('hashchange', route);
route();
