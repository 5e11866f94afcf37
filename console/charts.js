// Charts of the console, hand-written SVG: a line chart with markers, a histogram, and a small
// force layout. Why not a library: the page has no build step and loads nothing from a CDN, and
// these three charts take about 200 lines; a charting library vendored into the package would be
// larger than the whole console. Every label is set with textContent (never markup).
// @ts-check

const NS = 'http://www.w3.org/2000/svg';
export const PALETTE = ['#2f5fd0', '#d0712f', '#1f8a4c', '#8e44ad', '#c0392b', '#16a0a0', '#7f8c8d', '#b7950b'];

/** @param {string} tag @param {Record<string, string|number>} attrs @param {string} [text] */
export function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** @param {SVGSVGElement} root */
function clear(root) {
  while (root.firstChild) root.removeChild(root.firstChild);
  const vb = root.viewBox.baseVal;
  return { w: vb.width, h: vb.height };
}

function niceTicks(lo, hi, n = 5) {
  if (!(hi > lo)) return [lo];
  const step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
  const err = ((hi - lo) / n) / step;
  const s = step * (err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1);
  const out = [];
  for (let v = Math.ceil(lo / s) * s; v <= hi + 1e-9; v += s) out.push(Number(v.toFixed(10)));
  return out;
}

/**
 * A line chart. `series`: [{ name, points: [[x, y]], color? }]; `options.markers`: x values drawn
 * as vertical red lines (drift alarms); `options.dots`: [[x, y]] drawn as small circles.
 * @param {SVGSVGElement} root
 */
export function lineChart(root, series, options = {}) {
  const { w, h } = clear(root);
  const m = { l: 44, r: 140, t: 10, b: 24 };
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) {
    root.appendChild(svg('text', { x: w / 2, y: h / 2, 'text-anchor': 'middle' }, options.empty ?? 'no data yet'));
    return;
  }
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1]), options.yMin ?? Infinity), Math.max(...all.map((p) => p[1]), options.yMax ?? -Infinity)];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const X = (x) => m.l + ((x - x0) / (x1 - x0)) * (w - m.l - m.r);
  const Y = (y) => h - m.b - ((y - y0) / (y1 - y0)) * (h - m.t - m.b);
  for (const t of niceTicks(y0, y1)) {
    root.appendChild(svg('line', { x1: m.l, x2: w - m.r, y1: Y(t), y2: Y(t), stroke: '#eceff4' }));
    root.appendChild(svg('text', { x: m.l - 6, y: Y(t) + 4, 'text-anchor': 'end' }, String(t)));
  }
  for (const t of niceTicks(x0, x1, 8)) {
    root.appendChild(svg('text', { x: X(t), y: h - 6, 'text-anchor': 'middle' }, String(t)));
  }
  for (const x of options.markers ?? []) {
    root.appendChild(svg('line', { class: 'marker', x1: X(x), x2: X(x), y1: m.t, y2: h - m.b, stroke: '#c0392b', 'stroke-dasharray': '4 3' }));
  }
  series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    if (s.points.length === 1) {
      root.appendChild(svg('circle', { class: 'series', cx: X(s.points[0][0]), cy: Y(s.points[0][1]), r: 3, fill: color }));
    } else if (s.points.length > 1) {
      root.appendChild(svg('polyline', { class: 'series', fill: 'none', stroke: color, 'stroke-width': 1.8, points: s.points.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ') }));
    }
    root.appendChild(svg('rect', { x: w - m.r + 10, y: m.t + i * 16, width: 10, height: 10, fill: color }));
    root.appendChild(svg('text', { x: w - m.r + 24, y: m.t + i * 16 + 9 }, `${s.name} (${s.points.length})`));
  });
  for (const [x, y] of options.dots ?? []) root.appendChild(svg('circle', { class: 'dot', cx: X(x), cy: Y(y), r: 2.2, fill: '#d0712f' }));
}

/**
 * A histogram of `[from, to, count]` bins (log-spaced µs), with p50/p95/p99 lines.
 * @param {SVGSVGElement} root
 */
export function histogram(root, bins, marks) {
  const { w, h } = clear(root);
  // Percentile labels sit in the top margin, one row each, so they never cover a bar.
  const m = { l: 40, r: 10, t: 44, b: 28 };
  const max = Math.max(1, ...bins.map((b) => b[2]));
  const bw = (w - m.l - m.r) / bins.length;
  bins.forEach((b, i) => {
    const bh = (b[2] / max) * (h - m.t - m.b);
    const rect = svg('rect', { class: 'bin', x: m.l + i * bw + 1, y: h - m.b - bh, width: Math.max(1, bw - 2), height: bh, fill: '#2f5fd0' });
    rect.appendChild(svg('title', {}, `${b[0].toFixed(1)}–${b[1].toFixed(1)} µs: ${b[2]}`));
    root.appendChild(rect);
    if (i % 4 === 0) root.appendChild(svg('text', { x: m.l + i * bw, y: h - 10 }, `${b[0] < 10 ? b[0].toFixed(1) : Math.round(b[0])}`));
  });
  root.appendChild(svg('text', { x: w - m.r, y: h - 10, 'text-anchor': 'end' }, 'µs (log scale)'));
  const lo = bins[0][0];
  const hi = bins[bins.length - 1][1];
  const X = (v) => m.l + (Math.log(Math.max(v, lo) / lo) / Math.log(hi / lo)) * (w - m.l - m.r);
  Object.entries(marks).forEach(([name, v], row) => {
    const y = 12 + row * 12;
    root.appendChild(svg('line', { x1: X(v), x2: X(v), y1: y + 2, y2: h - m.b, stroke: '#c0392b', 'stroke-dasharray': '3 3' }));
    root.appendChild(svg('text', { x: X(v) + 3, y }, `${name} ${v.toFixed(1)} µs`));
  });
}

/**
 * A small force layout (Fruchterman–Reingold, fixed iterations, seeded start): `nodes` [{id,
 * label, type}], `edges` [{from, to, label}]; the first node is the centre. Clicking a node
 * calls `onPick(id)`.
 * @param {SVGSVGElement} root
 */
export function forceGraph(root, nodes, edges, onPick) {
  const { w, h } = clear(root);
  if (nodes.length === 0) {
    root.appendChild(svg('text', { x: w / 2, y: h / 2, 'text-anchor': 'middle' }, 'no entity yet: send a few chunks'));
    return;
  }
  const types = [...new Set(nodes.map((n) => n.type))];
  const pos = nodes.map((_, i) => {
    const a = (i / nodes.length) * 2 * Math.PI;
    const r = i === 0 ? 0 : 120 + (i % 3) * 30;
    return { x: w / 2 + r * Math.cos(a), y: h / 2 + r * Math.sin(a) };
  });
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const links = edges.map((e) => [index.get(e.from), index.get(e.to), e.label]).filter((l) => l[0] !== undefined && l[1] !== undefined);
  const k = Math.sqrt((w * h) / Math.max(1, nodes.length)) * 0.6;
  for (let it = 0, t = 40; it < 200; it++, t *= 0.975) {
    const d = pos.map(() => ({ x: 0, y: 0 }));
    for (let i = 0; i < pos.length; i++) {
      for (let j = i + 1; j < pos.length; j++) {
        const dx = pos[i].x - pos[j].x, dy = pos[i].y - pos[j].y;
        const dist = Math.max(1, Math.hypot(dx, dy));
        const f = (k * k) / dist;
        d[i].x += (dx / dist) * f; d[i].y += (dy / dist) * f;
        d[j].x -= (dx / dist) * f; d[j].y -= (dy / dist) * f;
      }
    }
    for (const [a, b] of links) {
      const dx = pos[a].x - pos[b].x, dy = pos[a].y - pos[b].y;
      const dist = Math.max(1, Math.hypot(dx, dy));
      const f = (dist * dist) / k;
      d[a].x -= (dx / dist) * f; d[a].y -= (dy / dist) * f;
      d[b].x += (dx / dist) * f; d[b].y += (dy / dist) * f;
    }
    for (let i = 1; i < pos.length; i++) {
      const len = Math.max(1, Math.hypot(d[i].x, d[i].y));
      pos[i].x = Math.min(w - 40, Math.max(40, pos[i].x + (d[i].x / len) * Math.min(len, t)));
      pos[i].y = Math.min(h - 20, Math.max(20, pos[i].y + (d[i].y / len) * Math.min(len, t)));
    }
    pos[0] = { x: w / 2, y: h / 2 };
  }
  for (const [a, b, label] of links) {
    root.appendChild(svg('line', { x1: pos[a].x, y1: pos[a].y, x2: pos[b].x, y2: pos[b].y, stroke: '#c5cbd6' }));
    root.appendChild(svg('text', { x: (pos[a].x + pos[b].x) / 2, y: (pos[a].y + pos[b].y) / 2 }, label));
  }
  nodes.forEach((n, i) => {
    const g = svg('g', { class: 'node', transform: `translate(${pos[i].x.toFixed(1)},${pos[i].y.toFixed(1)})` });
    g.appendChild(svg('circle', { r: i === 0 ? 9 : 6, fill: PALETTE[types.indexOf(n.type) % PALETTE.length] }));
    g.appendChild(svg('text', { x: 10, y: 4 }, n.label));
    g.appendChild(svg('title', {}, `${n.id} (${n.type})`));
    g.addEventListener('click', () => onPick(n.id));
    root.appendChild(g);
  });
}
