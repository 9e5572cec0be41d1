// GPU telemetry charts for the job and node pages: four small SVG line charts
// (utilization, memory used, temperature, power) with one line per GPU over the recent
// history the control plane keeps (GET /api/v1/nodes/NAME/telemetry,
// /api/v1/nodes/NAME/gpus/GPU/telemetry, /api/v1/jobs/ID/telemetry; see
// src/baton/server/http_telemetry.h), and a table of each GPU's latest values.
//
// Plain SVG built with the DOM (no library, no build step). Values the agent could not read
// are null in the answer and leave a gap in the line. The x axis ends at the server's
// "now" (now_ms), so a skewed browser clock does not shift the lines.
//
// Uses h() from app.js (loaded after this file, called only at render time).
'use strict';

const SVG_NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return el;
}

// One colour per GPU line, in the order the answer lists the GPUs.
const SERIES_COLORS = ['#2858c7', '#d6453d', '#1f8a4c', '#b7791f', '#6b46c1', '#0f8a99',
                       '#c2417a', '#5a6a85', '#7fa31a', '#e07b00'];
const seriesColor = (i) => SERIES_COLORS[i % SERIES_COLORS.length];

// The charts, in order. `scale` turns the API's unit into the shown one; `max` is the
// top of the y axis given the GPUs (null = from the data).
const TELEMETRY_METRICS = [
  { key: 'util', label: 'Utilization', unit: '%', max: () => 100 },
  { key: 'mem_used_mib', label: 'Memory used', unit: 'GiB', scale: 1 / 1024,
    max: (gpus) => Math.max(1, ...gpus.map((g) => g.memory_mib / 1024)) },
  { key: 'temp_c', label: 'Temperature', unit: '°C', max: null, floor: 100 },
  { key: 'power_w', label: 'Power', unit: 'W', max: null, floor: 100 },
];

// A round number at or above v, for the top of an axis.
function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const gpuKey = (g) => `${g.node}/${g.index}`;
const gpuHref = (g) => `#/nodes/${encodeURIComponent(g.node)}/gpus/${g.index}`;

// The latest sample of a GPU: {t, util, mem_used_mib, temp_c, power_w}, or null.
function lastSample(g) {
  const n = g.t_ms.length;
  if (!n) return null;
  return { t: g.t_ms[n - 1], util: g.util[n - 1], mem_used_mib: g.mem_used_mib[n - 1],
           temp_c: g.temp_c[n - 1], power_w: g.power_w[n - 1] };
}

// Shown values, rounded the same way everywhere (tests compare them with the API's).
const TELEMETRY_FORMAT = {
  util: (v) => (v === null ? '-' : `${Math.round(v)}%`),
  mem_used_mib: (v, g) => (v === null ? '-' : `${Math.round(v)} / ${g.memory_mib}`),
  temp_c: (v) => (v === null ? '-' : `${Math.round(v)}`),
  power_w: (v) => (v === null ? '-' : `${Math.round(v)}`),
};

// One chart: an <svg class="chart" data-metric=KEY> with a polyline per GPU (a gap where a
// value is null), the y range on the left and the time range below.
function lineChart(metric, gpus, fromMs, toMs) {
  const W = 316, H = 150, L = 38, R = 8, T = 20, B = 20;
  const scale = metric.scale || 1;
  let top = 0;
  if (metric.max) {
    top = niceCeil(metric.max(gpus));
  } else {
    for (const g of gpus) for (const v of g[metric.key]) if (v !== null && v * scale > top) top = v * scale;
    top = niceCeil(Math.max(top * 1.1, metric.floor || 1));
  }
  const x = (t) => L + (W - L - R) * Math.min(1, Math.max(0, (t - fromMs) / Math.max(1, toMs - fromMs)));
  const y = (v) => T + (H - T - B) * (1 - Math.min(1, Math.max(0, (v * scale) / top)));
  const lines = [];
  gpus.forEach((g, i) => {
    let run = [];
    const flush = () => {
      if (run.length) {
        lines.push(svg('polyline', { points: run.join(' '), fill: 'none', stroke: seriesColor(i),
                                     'stroke-width': 1.6, 'data-gpu': gpuKey(g) }));
      }
      run = [];
    };
    g.t_ms.forEach((t, k) => {
      const v = g[metric.key][k];
      if (v === null || v === undefined) { flush(); return; }
      run.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
    });
    // A single sample is a dot, not an invisible zero-length line.
    if (run.length === 1) run.push(run[0].replace(/^([\d.]+)/, (m) => (Number(m) + 1.5).toFixed(1)));
    flush();
  });
  const spanS = Math.round((toMs - fromMs) / 1000);
  const grid = [0, 0.5, 1].map((f) => svg('line', { x1: L, x2: W - R, y1: T + (H - T - B) * f,
                                                      y2: T + (H - T - B) * f, class: 'grid' }));
  return svg('svg', { class: 'chart', 'data-metric': metric.key, viewBox: `0 0 ${W} ${H}`,
                      width: W, height: H, role: 'img',
                      'aria-label': `${metric.label} of ${gpus.length} GPU(s)` },
    svg('text', { x: L, y: 13, class: 'title' }, `${metric.label} (${metric.unit})`),
    grid,
    svg('text', { x: L - 4, y: T + 4, class: 'axis', 'text-anchor': 'end' }, String(Math.round(top * 10) / 10)),
    svg('text', { x: L - 4, y: H - B + 4, class: 'axis', 'text-anchor': 'end' }, '0'),
    svg('text', { x: L, y: H - 5, class: 'axis' }, `−${spanS}s`),
    svg('text', { x: W - R, y: H - 5, class: 'axis', 'text-anchor': 'end' }, 'now'),
    lines);
}

// The telemetry section's content for one answer of the telemetry API. opts.column:
// 'task' (job page: which task holds the GPU) or 'job' (node page: which job holds it).
function telemetryPanel(data, opts) {
  const gpus = data.gpus || [];
  const wrap = h('div', { id: 'telemetry', 'data-gpus': gpus.length });
  if (data.note) {
    wrap.append(h('div', { class: 'muted', id: 'telemetry-note' }, data.note));
    return wrap;
  }
  if (!gpus.length) {
    wrap.append(h('div', { class: 'muted', id: 'telemetry-note' }, 'No GPUs.'));
    return wrap;
  }
  // From the oldest sample shown (at least 10 s back) to the attempt's end or now.
  const toMs = data.to_ms || data.now_ms;
  let fromMs = toMs - 10000;
  for (const g of gpus) if (g.t_ms.length && g.t_ms[0] < fromMs) fromMs = g.t_ms[0];
  const samples = gpus.reduce((s, g) => s + g.t_ms.length, 0);
  if (!samples) {
    wrap.append(h('div', { class: 'muted', id: 'telemetry-note' },
      'No telemetry yet: agents send each GPU\'s utilization, memory, temperature and power ' +
      `with every heartbeat; the control plane keeps the last ${data.history} samples.`));
  } else {
    wrap.append(h('div', { class: 'charts' }, TELEMETRY_METRICS.map((m) => lineChart(m, gpus, fromMs, toMs))));
  }
  const rows = gpus.map((g, i) => {
    const s = lastSample(g);
    const v = (k) => (s ? TELEMETRY_FORMAT[k](s[k], g) : '-');
    const holder = opts.column === 'task'
      ? h('td', { class: 'num' }, g.task)
      : h('td', {}, g.job ? jobLink(g.job) : h('span', { class: 'muted' }, 'free'));
    return h('tr', { 'data-gpu': gpuKey(g), 'data-t-last': s ? s.t : null },
      h('td', {}, h('span', { class: 'sw', style: `background:${seriesColor(i)}` })),
      h('td', {}, h('a', { href: gpuHref(g) }, `${g.node} GPU ${g.index}`)),
      holder,
      h('td', { class: 'num', 'data-k': 'util' }, v('util')),
      h('td', { class: 'num', 'data-k': 'mem_used_mib' }, v('mem_used_mib')),
      h('td', { class: 'num', 'data-k': 'temp_c' }, v('temp_c')),
      h('td', { class: 'num', 'data-k': 'power_w' }, v('power_w')),
      h('td', { class: 'num' }, g.t_ms.length),
      h('td', { class: g.error ? 'reason' : 'muted' }, g.error || (s ? `${Math.max(0, Math.round((data.now_ms - s.t) / 1000))}s ago` : 'no sample')));
  });
  wrap.append(table(['', 'GPU', opts.column === 'task' ? '#Task' : 'Job', '#Util', '#Memory MiB',
                     '#°C', '#W', '#Samples', 'Last sample'], rows, 'no GPUs'));
  if (data.gpus_total > gpus.length) {
    wrap.append(h('div', { class: 'muted' }, `Showing ${gpus.length} of the attempt's ${data.gpus_total} GPUs.`));
  }
  return wrap;
}
