/**
 * The two HTML pages of `dalesweep serve`. Both are static shells: their script reads the JSON
 * API (`/api/sweeps`, polled) or the sweep's event stream (`/api/sweeps/<dir>/events`) and fills
 * the page with `textContent` only (no markup from the store reaches the DOM as HTML). Elements
 * carry `data-*` attributes so tests (and users' scripts) can read the numbers.
 */

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 70em; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: .2em; } h2 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .25em .6em; border-bottom: 1px solid #ddd; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.bar { background: #eee; height: .8em; width: 12em; display: inline-block; position: relative; }
.bar > span { background: #2a7; height: 100%; display: block; }
.status-complete { color: #2a7; } .status-running { color: #27a; } .status-failed { color: #c33; } .status-unreadable { color: #c33; }
.muted { color: #777; } code { font-size: .95em; } .problem { color: #c33; }
`;

function shell(title: string, body: string, script: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${STYLE}</style></head>
<body>${body}
<script>
'use strict';
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = String(text); if (cls) e.className = cls; return e; }
function row(cells) { const tr = document.createElement('tr'); for (const c of cells) tr.append(c); return tr; }
function num(v, field) { const td = el('td', v, 'n'); if (field) td.dataset.field = field; return td; }
function bar(done, total) { const b = el('span', undefined, 'bar'); const f = el('span'); f.style.width = (total ? (100 * done) / total : 0).toFixed(1) + '%'; b.append(f); return b; }
${script}
</script></body></html>
`;
}

/** The list of sweeps in the store (polls `/api/sweeps` every 5 s). */
export function listPage(): string {
  return shell(
    'dalesweep: sweeps',
    `<h1>Sweeps</h1><p class="muted" id="where">read-only view of the store</p>
<table><thead><tr><th>name</th><th>id</th><th>created</th><th>status</th><th class="n">complete</th><th class="n">running</th><th class="n">failed</th><th class="n">pending</th><th class="n">total</th><th></th></tr></thead>
<tbody id="sweeps"></tbody></table><p id="empty" class="muted" hidden>The store has no sweeps yet: start one with <code>dalesweep run SWEEP.yaml</code>.</p><p id="problem" class="problem"></p>`,
    `
async function load() {
  try {
    const r = await fetch('/api/sweeps', { cache: 'no-store' });
    if (!r.ok) throw new Error(await r.text());
    const sweeps = await r.json();
    const tb = document.getElementById('sweeps');
    tb.replaceChildren();
    for (const s of sweeps) {
      const a = el('a', s.name); a.href = '/sweeps/' + encodeURIComponent(s.dir) + '/';
      const name = el('td'); name.append(a);
      const c = s.counts || { complete: '', running: '', failed: '', pending: '', total: '' };
      const st = el('td', s.status, 'status-' + s.status); if (s.error) st.title = s.error;
      const tr = row([name, el('td', s.sweepId.slice(0, 12)), el('td', s.created ? s.created.replace('T', ' ').slice(0, 19) : ''), st,
        num(c.complete, 'complete'), num(c.running, 'running'), num(c.failed, 'failed'), num(c.pending, 'pending'), num(c.total, 'total'), (() => { const td = el('td'); if (s.counts) td.append(bar(c.complete, c.total)); return td; })()]);
      tr.dataset.dir = s.dir;
      tb.append(tr);
    }
    document.getElementById('empty').hidden = sweeps.length > 0;
    document.getElementById('problem').textContent = '';
  } catch (e) { document.getElementById('problem').textContent = String(e.message || e); }
}
load(); setInterval(load, 5000);
`,
  );
}

/**
 * The live page of one sweep: counts per stage kind, running and failed stages, refreshed from
 * the event stream without reloading.
 * @param dir the sweep folder name (validated by the server: `[A-Za-z0-9._-]+-<12 hex>`)
 */
export function sweepPage(dir: string): string {
  const js = JSON.stringify(dir).replace(/</g, '\\u003c');
  return shell(
    `dalesweep: ${dir.replace(/[<>&"]/g, '')}`,
    `<p><a href="/">all sweeps</a></p>
<h1 id="title"></h1><p><span id="status" data-status=""></span> · <span id="overall"></span> · <span class="muted" id="updated"></span></p>
<p><a id="report">report</a> · <a id="fresh">report rebuilt now</a> · <a id="csv">results.csv</a> · <a id="spec">spec.yaml</a></p>
<p id="temporal" class="muted" hidden></p>
<h2>Stages per kind</h2>
<table><thead><tr><th>kind</th><th class="n">complete</th><th class="n">running</th><th class="n">failed</th><th class="n">corrupt</th><th class="n">pending</th><th class="n">total</th><th></th></tr></thead><tbody id="kinds"></tbody></table>
<h2>Running <span id="nrunning" class="muted"></span></h2>
<table><thead><tr><th>stage</th><th>kind</th><th>runner</th><th>since</th><th>heartbeat</th></tr></thead><tbody id="running"></tbody></table>
<h2>Failed <span id="nfailed" class="muted"></span></h2>
<table><thead><tr><th>stage</th><th>kind</th><th>reason</th><th>when</th></tr></thead><tbody id="failed"></tbody></table>
<p id="problem" class="problem"></p>`,
    `
const dir = ${js};
const base = '/sweeps/' + encodeURIComponent(dir) + '/';
document.getElementById('report').href = base + 'report.html';
document.getElementById('fresh').href = base + 'report.html?fresh=1';
document.getElementById('csv').href = base + 'results.csv';
document.getElementById('spec').href = base + 'spec.yaml';
const time = (t) => (t ? t.replace('T', ' ').slice(0, 19) : '');
function render(v) {
  document.title = 'dalesweep: ' + v.name;
  document.getElementById('title').textContent = v.name + ' (' + v.sweepId.slice(0, 12) + ')';
  const st = document.getElementById('status'); st.textContent = v.status; st.className = 'status-' + v.status; st.dataset.status = v.status;
  const c = v.counts; const o = document.getElementById('overall');
  o.textContent = c.complete + '/' + c.total + ' stages complete, ' + c.running + ' running, ' + c.failed + ' failed' + (c.corrupt ? ', ' + c.corrupt + ' corrupt' : '') + ', ' + c.pending + ' pending';
  o.dataset.complete = c.complete; o.dataset.total = c.total; o.dataset.running = c.running; o.dataset.failed = c.failed;
  document.getElementById('updated').textContent = 'read ' + time(v.readAt) + ' UTC';
  const kinds = document.getElementById('kinds'); kinds.replaceChildren();
  for (const [k, n] of Object.entries(v.byKind)) {
    const tr = row([el('td', k), num(n.complete, 'complete'), num(n.running, 'running'), num(n.failed, 'failed'), num(n.corrupt, 'corrupt'), num(n.pending, 'pending'), num(n.total, 'total'), (() => { const td = el('td'); td.append(bar(n.complete, n.total)); return td; })()]);
    tr.dataset.kind = k; kinds.append(tr);
  }
  const run = document.getElementById('running'); run.replaceChildren();
  for (const s of v.running) run.append(row([el('td', s.id.slice(0, 12)), el('td', s.kind), el('td', s.host + ' pid ' + s.pid), el('td', time(s.since)), el('td', time(s.heartbeatAt))]));
  document.getElementById('nrunning').textContent = '(' + v.running.length + ')';
  const fl = document.getElementById('failed'); fl.replaceChildren();
  for (const f of v.failures) fl.append(row([el('td', f.id.slice(0, 12)), el('td', f.kind), el('td', f.reason), el('td', time(f.failedAt))]));
  document.getElementById('nfailed').textContent = '(' + v.failuresTotal + (v.failuresTotal > v.failures.length ? ', first ' + v.failures.length + ' shown' : '') + ')';
  const t = document.getElementById('temporal');
  if (v.temporal) {
    t.hidden = false;
    t.textContent = v.temporal.reachable ? 'Temporal: workflow ' + (v.temporal.running ? 'running' : 'not running') + (v.temporal.progress ? ' · ' + JSON.stringify(v.temporal.progress) : '') + (v.temporal.error ? ' · ' + v.temporal.error : '') : 'Temporal: not reachable (' + (v.temporal.error || '') + '); progress from the store';
  }
  document.getElementById('problem').textContent = '';
}
const es = new EventSource('/api/sweeps/' + encodeURIComponent(dir) + '/events');
es.onmessage = (e) => render(JSON.parse(e.data));
es.addEventListener('problem', (e) => { document.getElementById('problem').textContent = JSON.parse(e.data); });
es.onerror = () => { document.getElementById('problem').textContent = 'connection to the server lost; retrying'; };
`,
  );
}
