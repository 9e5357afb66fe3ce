// DOM helpers: every piece of text goes in as a text node, never as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.setAttribute('class', value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function fmt(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (typeof value !== 'number') return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e6) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e5)) return value.toExponential(2);
  return value.toPrecision(digits);
}

export function pct(value) {
  return value === null || value === undefined ? '–' : `${(100 * value).toFixed(1)}%`;
}

export function link(href, ...children) {
  return el('a', { href }, ...children);
}

export function conceptLink(id, label) {
  return link(`#/concept/${Number(id)}`, `#${Number(id)}`, label ? ` ${label}` : '');
}

export function geneLink(name) {
  return link(`#/gene/${encodeURIComponent(name)}`, name);
}

export function cellTypeLink(name) {
  return link(`#/cell-type/${encodeURIComponent(name)}`, name);
}

export function notComputed(what) {
  return el('p', { class: 'muted not-computed' }, `${what}: not computed`);
}

export function section(title, ...children) {
  return el('section', { class: 'card' }, el('h3', {}, title), ...children);
}
