// WebGL scatter of every cell on the 2-D map: all cells in grey, then the cells that carry a value
// coloured by it (strongest drawn last, on top). Positions are uploaded once; switching the
// coloured values only uploads the active cells.

const VERTEX = `
attribute vec2 a_pos;
attribute float a_val;
uniform vec2 u_scale;
uniform vec2 u_offset;
uniform float u_size;
varying float v_val;
void main() {
  gl_Position = vec4(a_pos * u_scale + u_offset, 0.0, 1.0);
  gl_PointSize = u_size;
  v_val = a_val;
}`;

const FRAGMENT = `
precision mediump float;
varying float v_val;
uniform float u_round;
uniform vec4 u_base;
uniform float u_colored;
vec3 ramp(float t) {
  vec3 c0 = vec3(0.267, 0.005, 0.329);
  vec3 c1 = vec3(0.229, 0.322, 0.546);
  vec3 c2 = vec3(0.128, 0.567, 0.551);
  vec3 c3 = vec3(0.369, 0.789, 0.383);
  vec3 c4 = vec3(0.993, 0.906, 0.144);
  float s = clamp(t, 0.0, 1.0) * 4.0;
  if (s < 1.0) return mix(c0, c1, s);
  if (s < 2.0) return mix(c1, c2, s - 1.0);
  if (s < 3.0) return mix(c2, c3, s - 2.0);
  return mix(c3, c4, s - 3.0);
}
void main() {
  vec2 d = gl_PointCoord - vec2(0.5);
  if (u_round > 0.5 && dot(d, d) > 0.25) discard;
  gl_FragColor = u_colored > 0.5 ? vec4(ramp(v_val), 1.0) : u_base;
}`;

function compile(gl, type, source) {
  const shader = gl.createShader(type);
  gl.shaderSource(shader, source);
  gl.compileShader(shader);
  if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader));
  return shader;
}

export class Scatter {
  constructor() {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'scatter';
    this.canvas.width = 640;
    this.canvas.height = 560;
    const gl = this.canvas.getContext('webgl', { preserveDrawingBuffer: true, antialias: false, alpha: false });
    if (!gl) throw new Error('WebGL is not available in this browser');
    this.gl = gl;
    const program = gl.createProgram();
    gl.attachShader(program, compile(gl, gl.VERTEX_SHADER, VERTEX));
    gl.attachShader(program, compile(gl, gl.FRAGMENT_SHADER, FRAGMENT));
    gl.linkProgram(program);
    if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
    this.program = program;
    this.loc = {
      pos: gl.getAttribLocation(program, 'a_pos'),
      val: gl.getAttribLocation(program, 'a_val'),
      scale: gl.getUniformLocation(program, 'u_scale'),
      offset: gl.getUniformLocation(program, 'u_offset'),
      size: gl.getUniformLocation(program, 'u_size'),
      base: gl.getUniformLocation(program, 'u_base'),
      colored: gl.getUniformLocation(program, 'u_colored'),
      round: gl.getUniformLocation(program, 'u_round'),
    };
    this.allPos = gl.createBuffer();
    this.subPos = gl.createBuffer();
    this.subVal = gl.createBuffer();
    this.n = 0;
    this.m = 0;
    this.view = { zoom: 1, cx: 0, cy: 0 };
    this.drawCount = 0;
    this.pending = false;
    this.attachInteraction();
  }

  // xy: Float32Array of 2n raw map coordinates; bounds: [xmin, ymin, xmax, ymax].
  setPositions(xy, bounds) {
    const [x0, y0, x1, y1] = bounds;
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    const half = Math.max(x1 - x0, y1 - y0, 1e-9) / 2 * 1.04;
    const pos = new Float32Array(xy.length);
    for (let i = 0; i < xy.length; i += 2) {
      pos[i] = (xy[i] - cx) / half;
      pos[i + 1] = (xy[i + 1] - cy) / half;
    }
    this.pos = pos;
    this.n = xy.length / 2;
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.allPos);
    gl.bufferData(gl.ARRAY_BUFFER, pos, gl.STATIC_DRAW);
    this.baseSize = Math.max(1.5, Math.min(6, 4 * Math.sqrt(20000 / Math.max(this.n, 1))));
  }

  // indices: Uint32Array of cells; values: Float32Array, ascending; shown from vmin (dark) to vmax (bright).
  setValues(indices, values, vmin, vmax) {
    const m = indices.length;
    const sub = new Float32Array(2 * m);
    const val = new Float32Array(m);
    const span = vmax > vmin ? vmax - vmin : 1;
    const pos = this.pos;
    for (let i = 0; i < m; i++) {
      const p = indices[i] * 2;
      sub[2 * i] = pos[p];
      sub[2 * i + 1] = pos[p + 1];
      val[i] = (values[i] - vmin) / span;
    }
    const gl = this.gl;
    gl.bindBuffer(gl.ARRAY_BUFFER, this.subPos);
    gl.bufferData(gl.ARRAY_BUFFER, sub, gl.DYNAMIC_DRAW);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.subVal);
    gl.bufferData(gl.ARRAY_BUFFER, val, gl.DYNAMIC_DRAW);
    this.m = m;
  }

  resetView() {
    this.view = { zoom: 1, cx: 0, cy: 0 };
    this.requestDraw();
  }

  scale() {
    const { width, height } = this.canvas;
    const aspect = width / height;
    const z = this.view.zoom;
    return aspect > 1 ? [z / aspect, z] : [z, z * aspect];
  }

  draw() {
    const gl = this.gl;
    const { width, height } = this.canvas;
    gl.viewport(0, 0, width, height);
    gl.clearColor(1, 1, 1, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!this.n) return;
    gl.useProgram(this.program);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
    const [sx, sy] = this.scale();
    gl.uniform2f(this.loc.scale, sx, sy);
    gl.uniform2f(this.loc.offset, -this.view.cx * sx, -this.view.cy * sy);
    const size = this.baseSize * Math.sqrt(this.view.zoom);
    gl.uniform1f(this.loc.round, size > 3 ? 1 : 0);
    // every cell, light grey
    gl.uniform1f(this.loc.size, size);
    gl.uniform1f(this.loc.colored, 0);
    gl.uniform4f(this.loc.base, 0.62, 0.62, 0.62, 0.45);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.allPos);
    gl.enableVertexAttribArray(this.loc.pos);
    gl.vertexAttribPointer(this.loc.pos, 2, gl.FLOAT, false, 0, 0);
    gl.disableVertexAttribArray(this.loc.val);
    gl.vertexAttrib1f(this.loc.val, 0);
    gl.drawArrays(gl.POINTS, 0, this.n);
    // cells with a value, coloured, strongest last
    if (this.m) {
      gl.uniform1f(this.loc.size, size + 1);
      gl.uniform1f(this.loc.colored, 1);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.subPos);
      gl.vertexAttribPointer(this.loc.pos, 2, gl.FLOAT, false, 0, 0);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.subVal);
      gl.enableVertexAttribArray(this.loc.val);
      gl.vertexAttribPointer(this.loc.val, 1, gl.FLOAT, false, 0, 0);
      gl.drawArrays(gl.POINTS, 0, this.m);
    }
    // wait for the frame to be rendered (one pixel read back), so "drawn" means drawn
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
    this.drawCount += 1;
  }

  requestDraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  attachInteraction() {
    const canvas = this.canvas;
    canvas.addEventListener('wheel', (event) => {
      event.preventDefault();
      const rect = canvas.getBoundingClientRect();
      const [sx, sy] = this.scale();
      const nx = ((event.clientX - rect.left) / rect.width) * 2 - 1;
      const ny = 1 - ((event.clientY - rect.top) / rect.height) * 2;
      const wx = nx / sx + this.view.cx, wy = ny / sy + this.view.cy;
      const factor = Math.exp(-event.deltaY * 0.0015);
      this.view.zoom = Math.min(Math.max(this.view.zoom * factor, 0.5), 200);
      const [tx, ty] = this.scale();
      this.view.cx = wx - nx / tx;
      this.view.cy = wy - ny / ty;
      this.requestDraw();
    }, { passive: false });
    let drag = null;
    canvas.addEventListener('pointerdown', (event) => {
      drag = { x: event.clientX, y: event.clientY };
      canvas.setPointerCapture(event.pointerId);
    });
    canvas.addEventListener('pointermove', (event) => {
      if (!drag) return;
      const rect = canvas.getBoundingClientRect();
      const [sx, sy] = this.scale();
      this.view.cx -= ((event.clientX - drag.x) / rect.width) * 2 / sx;
      this.view.cy += ((event.clientY - drag.y) / rect.height) * 2 / sy;
      drag = { x: event.clientX, y: event.clientY };
      this.requestDraw();
    });
    canvas.addEventListener('pointerup', () => { drag = null; });
    canvas.addEventListener('dblclick', () => this.resetView());
  }
}
