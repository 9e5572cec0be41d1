// HeatMap: the cluster view's racks -> nodes -> GPUs drawn on one <canvas>, so 1,000 nodes
// x 8 GPUs is 8,000 rectangles in one paint rather than 8,000 DOM elements.
//
// Each rack is a labelled band; each node a tile of one cell per GPU, coloured by the
// chosen metric; a node that is not ready has an amber frame, a lost one a red frame and a
// darkened tile, a drained one a purple hatch. hitTest(x, y) maps a mouse position back to
// {node, gpu} for the tooltip and clicks.
'use strict';

const HEAT_METRICS = {
  alloc: { label: 'Allocation', kind: 'alloc' },
  util: { label: 'GPU utilization', kind: 'ramp', unit: '%',
          value: (n, g) => n.util[g] / 100 },
  mem: { label: 'Memory used', kind: 'ramp', unit: '%',
         value: (n, g) => n.mem_total_mib[g] > 0 ? n.mem_used_mib[g] / n.mem_total_mib[g] : 0 },
  temp: { label: 'Temperature', kind: 'ramp', unit: '30–90 °C',
          value: (n, g) => (n.temp_c[g] - 30) / 60 },
  power: { label: 'Power draw', kind: 'ramp', unit: '0–700 W',
           value: (n, g) => n.power_w[g] / 700 },
  health: { label: 'Health', kind: 'health' },
};

// Blue (cold) -> green -> yellow -> red (hot), v in [0, 1].
function rampColor(v) {
  if (!(v > 0)) v = 0;
  if (v > 1) v = 1;
  const stops = [[41, 65, 122], [36, 150, 110], [235, 200, 60], [214, 60, 50]];
  const x = v * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  const t = x - i;
  const c = stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * t));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

// A stable colour per job id, so one job's GPUs read as one patch.
function jobColor(id) {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return `hsl(${(h * 137) % 360}, 58%, 52%)`;
}

const STATE_COLORS = { ready: '#1f8a4c', 'not-ready': '#d69e2e', lost: '#c53030',
                       drained: '#6b46c1', unknown: '#999' };

class HeatMap {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.cell = 8;       // one GPU, gap included
    this.pad = 3;        // inside a node tile
    this.tileGap = 4;    // between node tiles
    this.rackHeader = 18;
    this.tiles = [];     // {x, y, w, h, node}
    this.nodes = [];
    this.metric = 'alloc';
  }

  setData(nodes, metric) {
    this.nodes = nodes;
    if (metric) this.metric = metric;
    this.draw();
  }

  // Racks in name order (unnamed last), nodes in natural name order within each.
  groups() {
    const byRack = new Map();
    for (const n of this.nodes) {
      const r = n.rack || '';
      if (!byRack.has(r)) byRack.set(r, []);
      byRack.get(r).push(n);
    }
    const coll = new Intl.Collator(undefined, { numeric: true });
    const racks = [...byRack.keys()].sort((a, b) =>
      a === '' ? 1 : b === '' ? -1 : coll.compare(a, b));
    return racks.map((r) => ({ rack: r, nodes: byRack.get(r).sort((a, b) => coll.compare(a.name, b.name)) }));
  }

  draw() {
    const width = Math.max(320, this.canvas.parentElement.clientWidth - 16);
    const maxGpus = Math.max(1, ...this.nodes.map((n) => n.jobs.length));
    const tileW = maxGpus * this.cell + 2 * this.pad - 1;
    const tileH = this.cell + 2 * this.pad - 1;
    const perRow = Math.max(1, Math.floor((width + this.tileGap) / (tileW + this.tileGap)));
    const groups = this.groups();
    let height = 0;
    for (const g of groups) {
      height += this.rackHeader + Math.ceil(g.nodes.length / perRow) * (tileH + this.tileGap) + 6;
    }
    height = Math.max(height, 40);
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(width * dpr) || this.canvas.height !== Math.round(height * dpr)) {
      this.canvas.width = Math.round(width * dpr);
      this.canvas.height = Math.round(height * dpr);
      this.canvas.style.width = width + 'px';
      this.canvas.style.height = height + 'px';
    }
    const ctx = this.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.textBaseline = 'middle';
    ctx.font = '12px system-ui, sans-serif';
    const m = HEAT_METRICS[this.metric] || HEAT_METRICS.alloc;
    this.tiles = [];
    let y = 0;
    for (const g of groups) {
      const alloc = g.nodes.reduce((s, n) => s + n.allocated, 0);
      const total = g.nodes.reduce((s, n) => s + n.jobs.length, 0);
      ctx.fillStyle = '#40475a';
      ctx.fillText(`${g.rack || '(no rack)'} — ${g.nodes.length} nodes, ${alloc}/${total} GPUs allocated`, 0, y + 9);
      y += this.rackHeader;
      g.nodes.forEach((n, i) => {
        const x = (i % perRow) * (tileW + this.tileGap);
        const ty = y + Math.floor(i / perRow) * (tileH + this.tileGap);
        this.drawTile(n, x, ty, tileW, tileH, m);
        this.tiles.push({ x, y: ty, w: tileW, h: tileH, node: n });
      });
      y += Math.ceil(g.nodes.length / perRow) * (tileH + this.tileGap) + 6;
    }
    if (this.nodes.length === 0) {
      ctx.fillStyle = '#667085';
      ctx.fillText('No nodes have registered yet: start baton-agent on the GPU machines.', 0, 20);
    }
    this.canvas.dataset.nodes = String(this.nodes.length);
    this.canvas.dataset.gpus = String(this.nodes.reduce((s, n) => s + n.jobs.length, 0));
    this.canvas.dataset.metric = this.metric;
  }

  drawTile(n, x, y, w, h, m) {
    const ctx = this.ctx;
    ctx.fillStyle = n.state === 'lost' ? '#3a3f4b' : '#eef1f6';
    ctx.fillRect(x, y, w, h);
    const size = this.cell - 1;
    for (let g = 0; g < n.jobs.length; g++) {
      let color;
      if (m.kind === 'alloc') {
        color = n.jobs[g] ? jobColor(n.jobs[g]) : '#cfd5df';
      } else if (m.kind === 'health') {
        color = STATE_COLORS[n.state] || STATE_COLORS.unknown;
      } else {
        color = rampColor(m.value(n, g));
      }
      ctx.fillStyle = color;
      ctx.globalAlpha = n.state === 'lost' ? 0.35 : 1;
      ctx.fillRect(x + this.pad + g * this.cell, y + this.pad, size, size);
    }
    ctx.globalAlpha = 1;
    if (n.state === 'drained') {
      ctx.save();
      ctx.beginPath();
      ctx.rect(x, y, w, h);
      ctx.clip();
      ctx.strokeStyle = STATE_COLORS.drained;
      ctx.lineWidth = 1.5;
      for (let k = -h; k < w; k += 6) {
        ctx.moveTo(x + k, y + h);
        ctx.lineTo(x + k + h, y);
      }
      ctx.stroke();
      ctx.restore();
    }
    if (n.state !== 'ready') {
      ctx.strokeStyle = STATE_COLORS[n.state] || STATE_COLORS.unknown;
      ctx.lineWidth = 2;
      ctx.strokeRect(x + 1, y + 1, w - 2, h - 2);
    }
  }

  // {node, gpu} under canvas-relative (x, y), gpu -1 on a tile's frame; null elsewhere.
  hitTest(x, y) {
    for (const t of this.tiles) {
      if (x >= t.x && x < t.x + t.w && y >= t.y && y < t.y + t.h) {
        const gpu = Math.floor((x - t.x - this.pad) / this.cell);
        return { node: t.node, gpu: gpu >= 0 && gpu < t.node.jobs.length ? gpu : -1 };
      }
    }
    return null;
  }
}

window.HeatMap = HeatMap;
window.HEAT_METRICS = HEAT_METRICS;
window.rampColor = rampColor;
window.jobColor = jobColor;
