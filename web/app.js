// baton dashboard: a hash-routed single page over batond's JSON API (/api/v1/...).
//
// Views: #/ cluster (heat map + counts), #/queue (per-queue usage, pending jobs and why),
// #/jobs (recent jobs), #/jobs/ID (tasks, GPU telemetry charts, attempts, checkpoints,
// logs, events, cancel), #/nodes/NAME (its GPUs and their charts), #/nodes/NAME/gpus/GPU
// (one GPU), #/events. Charts: charts.js; attempts and checkpoints: attempts.js. Each view has a refresh() that the poller calls every POLL_MS; requests never
// overlap. When the control plane cannot be reached the banner says so, the last data
// stays on screen, and polling goes on until it answers again; a changed epoch means it
// restarted, and the page says that too and reloads its data.
//
// All text from the server is put in the page with textContent (never as HTML).
'use strict';

const POLL_MS = 2000;
const LOG_POLL_MAX = 256 * 1024;

// ---------------------------------------------------------------------------------------
// Helpers.

// h('td', {class: 'num'}, 'text', childNode, ...): an element; attrs starting with "on"
// are listeners; null children are skipped.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
class Unreachable extends Error {}

// GET or POST a JSON endpoint. Throws ApiError for an error answer, Unreachable when
// batond did not answer at all.
async function api(path, opts) {
  let res;
  try {
    res = await fetch(path, Object.assign({ cache: 'no-store' }, opts || {}));
  } catch (e) {
    throw new Unreachable(`cannot reach the control plane (${e.message})`);
  }
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    if (res.status >= 500 || res.status === 0) {
      throw new Unreachable(`the control plane answered HTTP ${res.status}`);
    }
    throw new ApiError(res.status, `HTTP ${res.status} without a JSON body`, 'UNKNOWN');
  }
  if (!res.ok) throw new ApiError(res.status, body.error || `HTTP ${res.status}`, body.code);
  return body;
}

const STATE_NAMES = {
  JOB_STATE_PENDING: 'pending', JOB_STATE_SCHEDULED: 'scheduled',
  JOB_STATE_STARTING: 'starting', JOB_STATE_RUNNING: 'running',
  JOB_STATE_SUCCEEDED: 'succeeded', JOB_STATE_FAILED: 'failed',
  JOB_STATE_CANCELLED: 'cancelled',
  NODE_STATE_READY: 'ready', NODE_STATE_NOT_READY: 'not-ready', NODE_STATE_LOST: 'lost',
  NODE_STATE_DRAINED: 'drained',
};
const stateName = (s) => STATE_NAMES[s] || String(s || 'unknown').toLowerCase();
const isTerminal = (s) => ['succeeded', 'failed', 'cancelled'].includes(stateName(s));
const badge = (s) => h('span', { class: `badge ${stateName(s)}` }, stateName(s));

function eventTypeName(t) {
  return String(t).replace(/^EVENT_TYPE_/, '').toLowerCase().replace(/_/g, '-');
}

function fmtTime(ts) {
  if (!ts || ts.startsWith('1970-01-01')) return '-';
  const d = new Date(ts);
  return isNaN(d) ? '-' : d.toLocaleString();
}

function fmtAge(ts) {
  if (!ts || ts.startsWith('1970-01-01')) return '-';
  let s = Math.max(0, Math.round((Date.now() - new Date(ts)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor(s / 3600) % 24).padStart(2, '0')}h`;
}

function jobGpus(spec) {
  const tasks = spec.tasks || 1;
  const per = Number(spec.gpus_per_task || '1');
  return String(Math.round(tasks * per * 1000) / 1000);
}

const jobLink = (id) => h('a', { href: `#/jobs/${encodeURIComponent(id)}` }, id);
const nodeLink = (name) => h('a', { href: `#/nodes/${encodeURIComponent(name)}` }, name);

function table(headers, rows, emptyText) {
  const head = h('tr', {}, headers.map((c) =>
    h('th', { class: c.startsWith('#') ? 'num' : null }, c.replace(/^#/, ''))));
  const body = rows.length ? rows :
    [h('tr', {}, h('td', { class: 'empty', colspan: headers.length }, emptyText || 'none'))];
  return h('table', {}, h('thead', {}, head), h('tbody', {}, body));
}

function stat(id, label, value) {
  return h('div', { class: 'stat' }, h('div', { class: 'v', id }, value), h('div', { class: 'k' }, label));
}

function eventsTable(events, opts) {
  const rows = events.slice().reverse().map((e) => h('tr', { 'data-seq': e.sequence },
    h('td', { class: 'muted' }, fmtTime(e.time)),
    h('td', {}, h('span', { class: 'badge' }, eventTypeName(e.type))),
    opts && opts.noJob ? null : h('td', {}, e.job_id ? jobLink(e.job_id) : '-'),
    opts && opts.noNode ? null : h('td', {}, e.node ? nodeLink(e.node) : '-'),
    h('td', { class: 'reason' }, e.message)));
  const cols = ['Time', 'Event'];
  if (!(opts && opts.noJob)) cols.push('Job');
  if (!(opts && opts.noNode)) cols.push('Node');
  cols.push('Why');
  return table(cols, rows, 'no events recorded yet');
}

// ---------------------------------------------------------------------------------------
// Connection state, shown in the header and the banner.

const conn = {
  epoch: null,
  lastOk: null,
  restartedAt: null,
  error: null,
};

function setBanner(text, bad) {
  const b = document.getElementById('banner');
  if (!text) {
    b.hidden = true;
    b.textContent = '';
    return;
  }
  b.hidden = false;
  b.className = bad ? 'banner bad' : 'banner';
  b.textContent = text;
}

function noteOk(epoch) {
  conn.lastOk = new Date();
  conn.error = null;
  if (epoch) {
    if (conn.epoch && conn.epoch !== epoch) conn.restartedAt = new Date();
    conn.epoch = epoch;
  }
  const live = document.getElementById('live');
  live.className = 'live';
  live.textContent = `live · updated ${conn.lastOk.toLocaleTimeString()}`;
  if (conn.restartedAt && Date.now() - conn.restartedAt < 15000) {
    setBanner(`The control plane restarted at ${conn.restartedAt.toLocaleTimeString()}; ` +
              'the page has reloaded its data.', false);
  } else {
    setBanner(null);
  }
  document.body.dataset.conn = 'ok';
}

function noteUnreachable(err) {
  conn.error = err.message;
  const since = conn.lastOk ? ` Last update at ${conn.lastOk.toLocaleTimeString()}.` : '';
  setBanner(`Cannot reach the control plane: ${err.message}. Retrying every ` +
            `${POLL_MS / 1000}s; the page recovers by itself when it answers.${since}`, true);
  const live = document.getElementById('live');
  live.className = 'live stale';
  live.textContent = 'disconnected';
  document.body.dataset.conn = 'down';
}

// ---------------------------------------------------------------------------------------
// Views. Each: {title, nav, mount(root), refresh(), unmount()}.

function ClusterView() {
  let heat = null;
  let root = null;
  let metric = localStorage.getItem('baton.metric') || 'alloc';
  if (!HEAT_METRICS[metric]) metric = 'alloc';
  const tip = document.getElementById('tooltip');

  function legend() {
    const m = HEAT_METRICS[metric];
    if (m.kind === 'alloc') {
      return h('span', { class: 'legend' }, h('span', { class: 'sw', style: 'background:#cfd5df' }), 'free',
               h('span', { class: 'sw', style: `background:${jobColor('7')}` }), 'held by a job (one colour per job)');
    }
    if (m.kind === 'health') {
      return h('span', { class: 'legend' }, ...['ready', 'not-ready', 'lost', 'drained'].map((s) =>
        h('span', {}, h('span', { class: 'sw', style: `background:${STATE_COLORS[s]}` }), s)));
    }
    const stops = [0, 0.33, 0.66, 1].map(rampColor).join(',');
    return h('span', { class: 'legend' }, 'low', h('span', { class: 'ramp', style: `background:linear-gradient(90deg,${stops})` }),
             `high (${m.unit})`);
  }

  return {
    nav: 'cluster',
    title: 'Cluster',
    mount(r) {
      root = r;
      const select = h('select', { id: 'metric', onchange: (e) => {
        metric = e.target.value;
        localStorage.setItem('baton.metric', metric);
        document.getElementById('legend').replaceChildren(legend());
        heat.setData(heat.nodes, metric);
      } }, Object.entries(HEAT_METRICS).map(([k, m]) => h('option', { value: k, selected: k === metric }, m.label)));
      const canvas = h('canvas', { id: 'heatmap' });
      r.append(
        h('h1', {}, 'Cluster'),
        h('div', { class: 'stats', id: 'stats' }),
        h('div', { class: 'toolbar' }, h('label', { for: 'metric' }, 'Colour GPUs by'), select,
          h('span', { id: 'legend' }, legend()),
          h('span', { class: 'muted' }, 'Frames: amber not ready, red lost; purple hatch drained. Click a node for details.')),
        h('div', { class: 'heatwrap' }, canvas));
      heat = new HeatMap(canvas);
      window.batonHeatMap = heat;  // for tests and the time-to-first-render benchmark
      canvas.addEventListener('mousemove', (e) => {
        const rect = canvas.getBoundingClientRect();
        const hit = heat.hitTest(e.clientX - rect.left, e.clientY - rect.top);
        if (!hit) { tip.hidden = true; return; }
        const n = hit.node, g = hit.gpu;
        let text = `${n.name} (${n.rack || 'no rack'}) · ${n.state}${n.reason ? ': ' + n.reason : ''}\n` +
                   `${n.allocated}/${n.jobs.length} ${n.model} GPUs allocated`;
        if (g >= 0) {
          text += `\nGPU ${g}: ${n.jobs[g] ? 'job ' + n.jobs[g] : 'free'} · util ${Math.round(n.util[g])}% · ` +
                  `mem ${n.mem_used_mib[g]}/${n.mem_total_mib[g]} MiB · ${Math.round(n.temp_c[g])} °C · ${Math.round(n.power_w[g])} W`;
        }
        tip.textContent = text;
        tip.hidden = false;
        tip.style.left = (e.clientX + 14) + 'px';
        tip.style.top = (e.clientY + 14) + 'px';
      });
      canvas.addEventListener('mouseleave', () => { tip.hidden = true; });
      canvas.addEventListener('click', (e) => {
        const rect = canvas.getBoundingClientRect();
        const hit = heat.hitTest(e.clientX - rect.left, e.clientY - rect.top);
        if (hit) location.hash = `#/nodes/${encodeURIComponent(hit.node.name)}`;
      });
      this.onResize = () => heat.draw();
      window.addEventListener('resize', this.onResize);
    },
    async refresh() {
      const [ov, cl] = await Promise.all([api('/api/v1/overview'), api('/api/v1/cluster')]);
      noteOk(ov.epoch);
      const gpus = cl.nodes.reduce((s, n) => s + n.jobs.length, 0);
      const pct = ov.gpus.total ? Math.round(100 * ov.gpus.allocated / ov.gpus.total) : 0;
      root.querySelector('#stats').replaceChildren(
        stat('stat-nodes', 'nodes', cl.nodes.length),
        stat('stat-nodes-ready', 'ready', ov.nodes.ready),
        stat('stat-nodes-not-ready', 'not ready', ov.nodes.not_ready),
        stat('stat-nodes-lost', 'lost', ov.nodes.lost),
        stat('stat-gpus-total', 'GPUs', gpus),
        stat('stat-gpus-allocated', `GPUs allocated (${pct}%)`, ov.gpus.allocated),
        stat('stat-jobs-pending', 'jobs pending', ov.jobs.pending),
        stat('stat-jobs-active', 'jobs active', ov.jobs.active));
      heat.setData(cl.nodes, metric);
      if (!window.batonFirstRender && cl.nodes.length) {
        window.batonFirstRender = performance.now();
      }
      document.body.dataset.rendered = 'cluster';
    },
    unmount() {
      tip.hidden = true;
      window.removeEventListener('resize', this.onResize);
    },
  };
}

function QueueView() {
  let root = null;
  return {
    nav: 'queue',
    title: 'Queue',
    mount(r) {
      root = r;
      r.append(h('h1', {}, 'Queue'), h('h2', {}, 'Queues'), h('div', { id: 'queues' }),
               h('h2', {}, 'Pending jobs and why they wait'), h('div', { id: 'pending' }));
    },
    async refresh() {
      const [q, pend, ov] = await Promise.all([
        api('/api/v1/queues'), api('/api/v1/jobs?state=pending&limit=500'), api('/api/v1/overview')]);
      noteOk(ov.epoch);
      const total = q.gpus_total || 0;
      root.querySelector('#queues').replaceChildren(table(
        ['Queue', '#Pending', '#Running', '#GPUs in use', 'Share of the fleet', 'Quota'],
        q.queues.map((x) => {
          const used = Number(x.gpus_in_use || 0);
          const pct = total ? Math.min(100, 100 * used / total) : 0;
          return h('tr', { 'data-queue': x.name },
            h('td', {}, x.name),
            h('td', { class: 'num' }, x.pending_jobs),
            h('td', { class: 'num' }, x.running_jobs),
            h('td', { class: 'num' }, `${used} / ${total}`),
            h('td', {}, h('div', { class: 'bar', title: `${pct.toFixed(1)}%` }, h('span', { style: `width:${pct}%` }))),
            h('td', { class: 'muted' }, x.quota_gpus || 'none set'));
        })));
      root.querySelector('#pending').replaceChildren(table(
        ['#Job', 'Name', 'Queue', '#GPUs', 'Waiting', 'Why'],
        pend.jobs.map((j) => h('tr', { 'data-job-id': j.id },
          h('td', { class: 'num' }, jobLink(j.id)),
          h('td', {}, j.spec.name || '-'),
          h('td', {}, j.spec.queue || 'default'),
          h('td', { class: 'num' }, jobGpus(j.spec)),
          h('td', {}, fmtAge(j.submit_time)),
          h('td', { class: 'reason' }, j.reason))),
        'no job is waiting'));
      document.body.dataset.rendered = 'queue';
    },
  };
}

function JobsView() {
  let root = null;
  let state = '';
  return {
    nav: 'jobs',
    title: 'Jobs',
    mount(r) {
      root = r;
      const sel = h('select', { id: 'state-filter', onchange: (e) => { state = e.target.value; poller.now(); } },
        ['', 'pending', 'scheduled', 'starting', 'running', 'succeeded', 'failed', 'cancelled']
          .map((s) => h('option', { value: s }, s || 'any state')));
      r.append(h('h1', {}, 'Jobs'),
               h('div', { class: 'toolbar' }, h('label', { for: 'state-filter' }, 'State'), sel,
                 h('span', { class: 'muted' }, 'newest 200')),
               h('div', { id: 'jobs' }));
    },
    async refresh() {
      const res = await api(`/api/v1/jobs?limit=200${state ? '&state=' + state : ''}`);
      noteOk(null);
      root.querySelector('#jobs').replaceChildren(table(
        ['#Job', 'Name', 'Queue', 'State', '#GPUs', '#Attempts', 'Submitted', 'Reason'],
        res.jobs.map((j) => h('tr', { 'data-job-id': j.id },
          h('td', { class: 'num' }, jobLink(j.id)),
          h('td', {}, j.spec.name || '-'),
          h('td', {}, j.spec.queue || 'default'),
          h('td', {}, badge(j.state)),
          h('td', { class: 'num' }, jobGpus(j.spec)),
          h('td', { class: 'num' }, j.attempts.length),
          h('td', {}, fmtAge(j.submit_time) + ' ago'),
          h('td', { class: 'reason' }, j.reason))),
        'no jobs yet'));
      document.body.dataset.rendered = 'jobs';
    },
  };
}

function JobView(id) {
  let root = null;
  let logs = { task: 0, rank: 0, attempt: 0, offset: 0, text: '', key: '' };
  let confirming = false;
  let telAttempt = 0;  // the attempt whose GPU telemetry is charted; 0 = the latest

  async function cancel() {
    const btn = root.querySelector('#job-cancel');
    if (!confirming) {
      confirming = true;
      btn.textContent = 'Confirm: cancel this job';
      btn.classList.add('confirm');
      return;
    }
    btn.disabled = true;
    btn.textContent = 'Cancelling…';
    try {
      await api(`/api/v1/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' });
    } catch (e) {
      root.querySelector('#job-action-error').textContent = `Cancel failed: ${e.message}`;
    }
    confirming = false;
    poller.now();
  }

  async function refreshLogs(job) {
    const box = root.querySelector('#logs');
    if (!job.attempts.length) {
      box.replaceChildren(h('div', { class: 'muted' }, 'No output yet: the job has not started.'));
      return;
    }
    const key = `${logs.task}/${logs.rank}/${logs.attempt}`;
    if (key !== logs.key) logs = Object.assign(logs, { key, offset: 0, text: '' });
    try {
      const q = `task=${logs.task}&rank=${logs.rank}&attempt=${logs.attempt}&offset=${logs.offset}`;
      const r = await api(`/api/v1/jobs/${encodeURIComponent(id)}/logs?${q}`);
      logs.text = (logs.text + r.data).slice(-LOG_POLL_MAX);
      logs.offset = r.next_offset;
      const pre = h('pre', { class: 'logs', id: 'log-text' }, logs.text || '(no output yet)');
      box.replaceChildren(pre);
      pre.scrollTop = pre.scrollHeight;
    } catch (e) {
      if (e instanceof Unreachable) throw e;
      box.replaceChildren(h('div', { class: 'muted', id: 'log-text' }, `Logs unavailable: ${e.message}`));
    }
  }

  return {
    nav: 'jobs',
    title: `Job ${id}`,
    mount(r) {
      root = r;
      r.append(h('div', { id: 'job' }));
    },
    async refresh() {
      let job;
      try {
        job = await api(`/api/v1/jobs/${encodeURIComponent(id)}`);
      } catch (e) {
        if (e instanceof Unreachable) throw e;
        noteOk(null);
        const msg = e.status === 404
          ? `Job ${id} does not exist. Check the id, or find the job on the Jobs page.`
          : `Cannot show job "${id}": ${e.message}`;
        root.querySelector('#job').replaceChildren(
          h('h1', {}, `Job ${id}`),
          h('div', { class: 'error', id: 'error' }, msg, ' ', h('a', { href: '#/jobs' }, 'All jobs')));
        document.body.dataset.rendered = 'job-error';
        return;
      }
      const [ev, tel] = await Promise.all([
        api(`/api/v1/events?job=${encodeURIComponent(id)}&limit=200`),
        api(`/api/v1/jobs/${encodeURIComponent(id)}/telemetry?attempt=${telAttempt}`).catch((e) => {
          if (e instanceof Unreachable) throw e;
          return { note: `Telemetry unavailable: ${e.message}` };
        })]);
      noteOk(ev.epoch);
      const spec = job.spec;
      const last = job.attempts.length ? job.attempts[job.attempts.length - 1] : null;
      const live = last && !last.end_reason;
      const cancelBtn = isTerminal(job.state) ? null :
        h('button', { class: 'danger' + (confirming ? ' confirm' : ''), id: 'job-cancel', onclick: cancel },
          confirming ? 'Confirm: cancel this job' : 'Cancel job');
      const taskRows = last ? last.assignments.map((a) => {
        const exit = (last.task_exits || []).find((t) => t.task_index === a.task_index);
        return h('tr', {},
          h('td', { class: 'num' }, a.task_index),
          h('td', {}, nodeLink(a.node)),
          h('td', {}, (a.gpu_indices || []).join(', ') || '-'),
          h('td', {}, exit ? `exited ${exit.exit_code}` : live ? stateName(job.state) : 'stopped'));
      }) : [];
      const tasks = spec.tasks || 1;
      const ranks = spec.ranks_per_task || 1;
      const sel = (name, n, cur) => h('select', { id: `log-${name}`, onchange: (e) => {
        logs[name] = Number(e.target.value); poller.now();
      } }, Array.from({ length: n }, (_, i) => h('option', { value: i, selected: i === cur }, `${name} ${i}`)));
      const attemptSel = h('select', { id: 'log-attempt', onchange: (e) => { logs.attempt = Number(e.target.value); poller.now(); } },
        h('option', { value: 0 }, 'latest attempt'),
        job.attempts.map((a) => h('option', { value: a.number, selected: logs.attempt === a.number }, `attempt ${a.number}`)));
      const fresh = h('div', { id: 'job' },
        h('h1', {}, `Job ${job.id}`, spec.name ? ` · ${spec.name}` : '', ' ', h('span', { id: 'job-state' }, badge(job.state))),
        h('div', { class: 'panel' },
          h('div', { class: 'kv' },
            h('span', { class: 'k' }, 'Why'), h('span', { id: 'job-reason' }, job.reason || '-'),
            h('span', { class: 'k' }, 'Queue'), h('span', {}, spec.queue || 'default'),
            h('span', { class: 'k' }, 'Asks for'), h('span', {}, `${tasks} task(s) × ${spec.gpus_per_task || '1'} GPU(s)` +
              (spec.gpu_types && spec.gpu_types.length ? ` of ${spec.gpu_types.join(' or ')}` : '') +
              (ranks > 1 ? `, ${ranks} ranks per task` : '')),
            h('span', { class: 'k' }, 'Command'), h('span', { class: 'mono' }, (spec.command || []).join(' ') || '-'),
            h('span', { class: 'k' }, 'Attempts'), h('span', {}, `${job.attempts.length} (at most ${spec.max_attempts || 1} may fail)`),
            h('span', { class: 'k' }, 'Submitted'), h('span', {}, fmtTime(job.submit_time)),
            h('span', { class: 'k' }, 'Started'), h('span', {}, fmtTime(job.start_time)),
            h('span', { class: 'k' }, 'Ended'), h('span', {}, fmtTime(job.end_time))),
          h('div', { class: 'toolbar', style: 'margin:10px 0 0' }, cancelBtn,
            h('span', { id: 'job-action-error', class: 'muted' }))),
        h('h2', {}, last ? `Tasks of attempt ${last.number}` : 'Tasks'),
        table(['#Task', 'Node', 'GPUs', 'Status'], taskRows, 'not placed yet'),
        h('h2', {}, 'GPU telemetry'),
        h('div', { class: 'toolbar' }, h('select', { id: 'telemetry-attempt', onchange: (e) => {
          telAttempt = Number(e.target.value); poller.now();
        } }, h('option', { value: 0 }, 'latest attempt'),
          job.attempts.map((a) => h('option', { value: a.number, selected: telAttempt === a.number }, `attempt ${a.number}`))),
          h('span', { class: 'muted' }, tel.attempt ? `attempt ${tel.attempt}, ${tel.to_ms ? 'while it ran' : 'recent samples'} ` +
            `(the control plane keeps the last ${tel.history} heartbeat samples per GPU)` : '')),
        telemetryPanel(tel, { column: 'task' }),
        h('h2', {}, 'Attempts'),
        attemptsTable(job, ev.events),
        h('h2', {}, 'Checkpoints'),
        checkpointsSection(job),
        h('h2', {}, 'Logs'),
        h('div', { class: 'toolbar' }, sel('task', tasks, logs.task), sel('rank', ranks, logs.rank), attemptSel),
        h('div', { id: 'logs' }, root.querySelector('#logs') ? [...root.querySelector('#logs').childNodes] : []),
        h('h2', {}, 'Events'),
        eventsTable(ev.events, { noJob: true }));
      root.querySelector('#job').replaceWith(fresh);
      await refreshLogs(job);
      document.body.dataset.rendered = 'job';
    },
  };
}

function NodeView(name, gpu) {
  let root = null;
  return {
    nav: 'cluster',
    title: gpu === undefined ? `Node ${name}` : `Node ${name} GPU ${gpu}`,
    mount(r) {
      root = r;
      r.append(h('div', { id: 'node' }));
    },
    async refresh() {
      let n, tel;
      const base = `/api/v1/nodes/${encodeURIComponent(name)}`;
      try {
        [n, tel] = await Promise.all([api(base), api(gpu === undefined ? `${base}/telemetry`
          : `${base}/gpus/${encodeURIComponent(gpu)}/telemetry`)]);
      } catch (e) {
        if (e instanceof Unreachable) throw e;
        noteOk(null);
        // 404 is an unknown node, or (the server says which) a GPU the node does not have.
        const noGpu = e.status === 404 && / has no GPU /.test(e.message);
        let msg = `Cannot show node "${name}": ${e.message}. `;
        if (noGpu) {
          const has = (e.message.match(/\(([^)]*)\)$/) || [null, ''])[1];
          msg = `Node ${name} has no GPU ${gpu}${has ? ` (${has})` : ''}. `;
        } else if (e.status === 404) {
          msg = `Node ${name} is not registered. `;
        }
        root.querySelector('#node').replaceChildren(h('h1', {}, gpu === undefined ? `Node ${name}` : `Node ${name} GPU ${gpu}`),
          h('div', { class: 'error', id: 'error' }, msg, noGpu
            ? h('a', { href: `#/nodes/${encodeURIComponent(name)}` }, `Back to node ${name}`)
            : h('a', { href: '#/' }, 'Back to the cluster')));
        document.body.dataset.rendered = 'node-error';
        return;
      }
      noteOk(null);
      const node = n.node;
      const gpuRows = n.gpus.filter((g) => gpu === undefined || String(g.gpu.index) === String(tel.gpus[0].index))
        .map((g) => h('tr', {},
        h('td', { class: 'num' }, h('a', { href: `#/nodes/${encodeURIComponent(node.name)}/gpus/${g.gpu.index}` }, g.gpu.index)),
        h('td', { class: 'mono' }, g.gpu.uuid),
        h('td', {}, g.gpu.model),
        h('td', { class: 'num' }, g.gpu.nvlink_domain),
        h('td', {}, g.job ? jobLink(g.job) : h('span', { class: 'muted' }, 'free')),
        h('td', { class: 'num' }, `${Math.round(g.telemetry.utilization_percent)}%`),
        h('td', { class: 'num' }, `${g.telemetry.memory_used_mib} / ${g.gpu.memory_mib}`),
        h('td', { class: 'num' }, `${Math.round(g.telemetry.temperature_c)}`),
        h('td', { class: 'num' }, `${Math.round(g.telemetry.power_w)}`)));
      root.querySelector('#node').replaceChildren(
        h('h1', {}, `Node ${node.name} `, gpu === undefined ? null : `GPU ${tel.gpus[0].index} `,
          h('span', { id: 'node-state' }, badge(n.state))),
        h('div', { class: 'panel kv' },
          h('span', { class: 'k' }, 'Why'), h('span', {}, node.reason || (n.state === 'ready' ? 'heartbeating' : '-')),
          h('span', { class: 'k' }, 'Rack'), h('span', {}, node.rack || '-'),
          h('span', { class: 'k' }, 'Address'), h('span', {}, node.address || '-'),
          h('span', { class: 'k' }, 'CPUs / memory'), h('span', {}, `${node.cpus} CPUs, ${Math.round(node.memory_mib / 1024)} GiB`),
          h('span', { class: 'k' }, 'GPUs allocated'), h('span', { id: 'node-allocated' }, `${node.gpus_allocated} of ${node.gpus.length}`),
          h('span', { class: 'k' }, 'Last heartbeat'), h('span', {}, n.heartbeat_age_s >= 0 ? `${n.heartbeat_age_s.toFixed(1)}s ago` : 'none since the control plane started')),
        h('h2', {}, gpu === undefined ? 'GPUs' : h('span', {}, `GPU ${tel.gpus[0].index} · `,
          h('a', { href: `#/nodes/${encodeURIComponent(node.name)}` }, 'all GPUs of the node'))),
        table(['#GPU', 'UUID', 'Model', '#NVLink domain', 'Job', '#Util', '#Memory MiB', '#°C', '#W'], gpuRows, 'no GPUs'),
        h('h2', {}, 'GPU telemetry'),
        h('div', { class: 'muted' }, `The last ${tel.history} heartbeat samples the control plane keeps per GPU.`),
        telemetryPanel(tel, { column: 'job' }),
        h('h2', {}, 'Events'),
        eventsTable(n.events, { noNode: true }));
      document.body.dataset.rendered = 'node';
    },
  };
}

function EventsView() {
  let root = null;
  let events = [];
  let after = 0;
  let epoch = null;
  return {
    nav: 'events',
    title: 'Events',
    mount(r) {
      root = r;
      r.append(h('h1', {}, 'Events'),
               h('p', { class: 'muted' }, 'What the control plane decided and why, newest first (its recent history in memory).'),
               h('div', { id: 'events' }));
    },
    async refresh() {
      const res = await api(`/api/v1/events?after=${after}&limit=500`);
      noteOk(res.epoch);
      if (epoch !== res.epoch) {  // a restart numbers events from 1 again
        epoch = res.epoch;
        const all = after === 0 ? res : await api('/api/v1/events?limit=500');
        events = all.events;
      } else {
        events = events.concat(res.events).slice(-500);
      }
      after = res.last_sequence;
      root.querySelector('#events').replaceChildren(eventsTable(events));
      document.body.dataset.rendered = 'events';
    },
  };
}

// ---------------------------------------------------------------------------------------
// Router and poller.

function route() {
  const parts = (location.hash.replace(/^#\/?/, '') || '').split('/').map(decodeURIComponent);
  switch (parts[0]) {
    case '': return ClusterView();
    case 'queue': return QueueView();
    case 'jobs': return parts[1] ? JobView(parts[1]) : JobsView();
    case 'nodes':
      if (parts[2] === 'gpus' && parts[3] !== undefined && parts.length === 4) return NodeView(parts[1], parts[3]);
      if (parts.length > 2) return null;
      return parts[1] ? NodeView(parts[1]) : ClusterView();
    case 'events': return EventsView();
    default: return null;
  }
}

const poller = {
  view: null,
  timer: null,
  busy: false,
  again: false,
  generation: 0,
  async tick() {
    if (this.busy) { this.again = true; return; }
    clearTimeout(this.timer);
    this.busy = true;
    const gen = this.generation;
    try {
      if (this.view) await this.view.refresh();
    } catch (e) {
      if (gen === this.generation) {
        if (e instanceof Unreachable) {
          noteUnreachable(e);
        } else {
          setBanner(`Error: ${e.message}`, true);
          console.error(e);
        }
      }
    } finally {
      this.busy = false;
      if (this.again) {
        this.again = false;
        this.tick();
      } else {
        this.timer = setTimeout(() => this.tick(), POLL_MS);
      }
    }
  },
  now() { this.tick(); },
};

function show() {
  if (poller.view && poller.view.unmount) poller.view.unmount();
  poller.generation++;
  const root = document.getElementById('view');
  root.replaceChildren();
  const view = route();
  if (!view) {
    root.append(h('div', { class: 'error', id: 'error' }, `There is no page "${location.hash}". `,
      h('a', { href: '#/' }, 'Go to the cluster view')));
    poller.view = null;
    document.body.dataset.rendered = 'not-found';
    return;
  }
  document.title = `${view.title} · baton`;
  for (const a of document.querySelectorAll('header nav a')) {
    a.classList.toggle('active', a.dataset.view === view.nav);
  }
  view.mount(root);
  poller.view = view;
  poller.now();
}

window.addEventListener('hashchange', show);
show();

// One live-update cycle of the current view, for the time-to-first-render benchmark.
window.__view_refresh = () => (poller.view ? poller.view.refresh() : Promise.resolve());
