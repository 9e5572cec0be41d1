// The job page's attempts and checkpoints: every attempt with why it ended and the work it
// lost, and each attempt's checkpoints (what it resumed from, the latest it reported via
// Jobs.ReportCheckpoint or the agent's watch of BATON_CHECKPOINT_DIR).
//
// The durable truth is the job record (Attempt.end_reason, failed_task, exit_code,
// work_lost_s, resumed_from, last_checkpoint_path/time; Job.checkpoint). The control
// plane's events add the sentence it wrote when the attempt ended ("attempt 1: task 0
// exited with code 3; retrying ...") while they are still in its recent history; older
// attempts get a sentence built from the record.
//
// Uses h(), table(), fmtTime() from app.js (loaded after this file, called at render time).
'use strict';

// The event types that end an attempt, best first.
const ATTEMPT_END_EVENTS = ['EVENT_TYPE_JOB_TASK_FAILED', 'EVENT_TYPE_JOB_PREEMPTED',
  'EVENT_TYPE_JOB_NODE_LOST', 'EVENT_TYPE_JOB_START_TIMEOUT', 'EVENT_TYPE_JOB_SUCCEEDED',
  'EVENT_TYPE_JOB_FAILED', 'EVENT_TYPE_JOB_CANCELLED'];

// Seconds as "0.8s", "42.5s", "3m07s", "2h05m".
function fmtSeconds(s) {
  s = Number(s) || 0;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

// Why attempt `a` ended, for people: the control plane's own sentence when the event is
// still known, else one built from the record.
function attemptEndWhy(a, events) {
  if (!a.end_reason) return 'running';
  for (const type of ATTEMPT_END_EVENTS) {
    const e = events.find((x) => x.attempt === a.number && x.type === type);
    if (e) return e.message;
  }
  const counted = a.counts_toward_limit ? ' (counted toward max_attempts)' : '';
  switch (a.end_reason) {
    case 'succeeded': return 'every task exited 0';
    case 'task-failed':
      return `task ${a.failed_task ?? '?'} exited with code ${a.exit_code}${counted}`;
    case 'preempted': return 'preempted: the scheduler or a drain took its GPUs back';
    case 'node-lost': return `a node it ran on was lost${counted}`;
    case 'cancelled': return 'cancelled';
    case 'start-timeout': return `not every task reached running in time${counted}`;
    default: return a.end_reason;
  }
}

// Work an ended attempt lost: from its last checkpoint (or start) to its end.
function workLostText(a) {
  if (!a.end_reason) return '-';
  if (a.end_reason === 'succeeded') return 'none';
  return fmtSeconds(a.work_lost_s);
}

function attemptsTable(job, events) {
  const rows = job.attempts.slice().reverse().map((a) => h('tr', { 'data-attempt': a.number },
    h('td', { class: 'num' }, a.number),
    h('td', {}, fmtTime(a.start_time)),
    h('td', {}, a.end_reason ? fmtTime(a.end_time) : 'open'),
    h('td', {}, a.end_reason ? h('span', { class: 'badge' }, a.end_reason) : '-'),
    h('td', { class: 'reason', 'data-k': 'why' }, attemptEndWhy(a, events)),
    h('td', { class: 'num' }, a.end_reason ? a.exit_code : '-'),
    h('td', { class: 'num', 'data-k': 'work-lost', 'data-work-lost-s': a.work_lost_s || 0 }, workLostText(a)),
    h('td', { class: 'mono' }, a.assignments.map((t) => `${t.node}:${(t.gpu_indices || []).join(',')}`).join('  '))));
  return table(['#Attempt', 'Scheduled', 'Ended', 'End', 'Why it ended', '#Exit code', '#Work lost', 'Placement'],
               rows, 'none yet');
}

function checkpointsSection(job) {
  const ck = job.checkpoint;
  const latest = ck && ck.path
    ? h('div', { id: 'job-checkpoint' }, 'Latest: ', h('span', { class: 'mono' }, ck.path),
        ` (attempt ${ck.attempt}, ${fmtTime(ck.time)}); the next attempt resumes from it ` +
        '(BATON_RESUME_FROM).')
    : h('div', { id: 'job-checkpoint', class: 'muted' },
        'No checkpoint reported yet. A task reports one by writing into $BATON_CHECKPOINT_DIR ' +
        '(the agent watches it) or through Jobs.ReportCheckpoint.');
  const rows = job.attempts.slice().reverse().map((a) => h('tr', { 'data-attempt': a.number },
    h('td', { class: 'num' }, a.number),
    h('td', { class: 'mono', 'data-k': 'resumed-from' }, a.resumed_from || h('span', { class: 'muted' }, 'from scratch')),
    h('td', { class: 'mono', 'data-k': 'latest' }, a.last_checkpoint_path || h('span', { class: 'muted' }, 'none reported')),
    h('td', {}, fmtTime(a.last_checkpoint_time)),
    h('td', { class: 'num' }, workLostText(a))));
  return h('div', {}, latest,
           table(['#Attempt', 'Resumed from', 'Latest checkpoint', 'Written at', '#Work lost'], rows, 'none yet'));
}
