// Talking to the explorer's server: JSON documents and compact binary activations.

const cache = new Map();

export async function getJSON(url, { fresh = false } = {}) {
  if (!fresh && cache.has(url)) return cache.get(url);
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  const value = await response.json();
  if (!fresh) cache.set(url, value);
  return value;
}

// Body: uint32 n, n uint32 cell indices, n float32 values (ascending, strongest last).
export async function getValues(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  const buffer = await response.arrayBuffer();
  const n = new Uint32Array(buffer, 0, 1)[0];
  return { indices: new Uint32Array(buffer, 4, n), values: new Float32Array(buffer, 4 + 4 * n, n) };
}

export async function getFloats(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${response.status}`);
  return new Float32Array(await response.arrayBuffer());
}

export async function putJSON(url, body) {
  const response = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
  return response.json();
}

export async function annotations() {
  return getJSON('/api/annotations', { fresh: true });
}

// The annotations, or {} and the server's reason when they cannot be used (e.g. a broken annotations.json).
export async function annotationsOrProblem() {
  try {
    return { notes: await annotations(), problem: null };
  } catch (error) {
    return { notes: {}, problem: error.message };
  }
}
