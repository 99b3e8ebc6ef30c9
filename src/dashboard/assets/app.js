// The Sluice dashboard page: plain DOM, no framework, no CDN. Data comes from /dashboard/api (JSON) and
// /dashboard/api/events (Server-Sent Events); every string from the server goes in with textContent, never as
// HTML. Routes: #/ the fleet list, #/r/NAMESPACE/NAME one rollout.
const csrf = document.querySelector('meta[name="sluice-csrf"]').content;
const readOnly = document.querySelector('meta[name="sluice-read-only"]').content === 'true';
// 'token': signed in with a Kubernetes token, acting as that user (RBAC); 'admin': the local one-time login.
const auth = document.querySelector('meta[name="sluice-auth"]').content;
const main = document.getElementById('main');
const conn = document.getElementById('conn');
const announceEl = document.getElementById('announce');
window.sluiceLoadedAt = Date.now();
document.getElementById('user').title =
  auth === 'token' ? 'a Kubernetes user: actions run with your token, under your RBAC roles' : 'the local administrator (one-time login URL)';

const PHASE_GLYPH = {
  Pending: '◷',
  Progressing: '◌',
  Paused: '॥',
  Promoting: '↑',
  Succeeded: '✔',
  RollingBack: '↺',
  RolledBack: '✖',
  Aborted: '■',
};
const STATUS_TEXT = { pass: 'pass', fail: 'fail', noData: 'no data', error: 'error' };
const STATUS_GLYPH = { pass: '✔', fail: '✖', noData: '?', error: '⚠' };

/** h('tag', {attr: value, onclick: fn}, child, ...): children are nodes or text. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const svgNS = 'http://www.w3.org/2000/svg';
function s(tag, attrs, ...children) {
  const el = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function announce(text) {
  announceEl.textContent = '';
  setTimeout(() => (announceEl.textContent = text), 50);
}

function ago(iso) {
  if (!iso) return '—';
  const sec = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (sec < 60) return `${sec} s ago`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ago`;
  if (sec < 86400) return `${Math.floor(sec / 3600)} h ago`;
  return `${Math.floor(sec / 86400)} d ago`;
}
function left(iso) {
  const sec = Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 1000));
  return sec >= 60 ? `${Math.floor(sec / 60)} min ${sec % 60} s left` : `${sec} s left`;
}
function time(iso) {
  return new Date(iso).toLocaleTimeString([], { hour12: false });
}
function num(v) {
  if (v === undefined || v === null) return '—';
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(1) : String(Number(v.toPrecision(4)));
}
function phaseBadge(phase) {
  return h('span', { class: `phase phase-${phase}` }, h('span', { 'aria-hidden': 'true' }, PHASE_GLYPH[phase] || '•'), ' ', phase);
}

// ---------- live stream ----------
let stream = null;
let lastEventId = '';
let streamUrl = '';
let handlers = {};
function openStream(url, on) {
  closeStream();
  streamUrl = url;
  handlers = on;
  const u = lastEventId ? `${url}${url.includes('?') ? '&' : '?'}lastEventId=${encodeURIComponent(lastEventId)}` : url;
  stream = new EventSource(u);
  stream.onopen = () => {
    conn.textContent = 'live';
    conn.dataset.state = 'live';
  };
  stream.onerror = () => {
    conn.textContent = 'reconnecting…';
    conn.dataset.state = 'reconnecting';
  };
  for (const [ev, fn] of Object.entries(on)) {
    stream.addEventListener(ev, (e) => {
      lastEventId = e.lastEventId || lastEventId;
      fn(JSON.parse(e.data));
    });
  }
}
function closeStream() {
  if (stream) stream.close();
  stream = null;
}
// Pause the stream while the tab is hidden; resume from the last event id when it is shown again.
document.addEventListener('visibilitychange', () => {
  if (document.hidden) closeStream();
  else if (streamUrl) openStream(streamUrl, handlers);
});

async function api(path, init) {
  const r = await fetch(path, { credentials: 'same-origin', ...init });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.message || `HTTP ${r.status}`);
  return body;
}

// ---------- fleet list ----------
const fleet = { rows: new Map(), filter: '', needsOnly: false, deleted: new Set() };

function renderFleet() {
  const tbody = document.getElementById('fleet-body');
  if (!tbody) return;
  const f = fleet.filter.toLowerCase();
  const rows = [...fleet.rows.values()]
    .filter((r) => (!f || r.key.toLowerCase().includes(f)) && (!fleet.needsOnly || r.needs))
    .sort((a, b) => a.key.localeCompare(b.key));
  const needs = [...fleet.rows.values()].filter((r) => r.needs).length;
  document.getElementById('needs-count').textContent = String(needs);
  document.getElementById('fleet-count').textContent = `${rows.length} of ${fleet.rows.size} rollouts`;
  tbody.replaceChildren(
    ...rows.map((r) => {
      const gone = fleet.deleted.has(r.key);
      return h(
        'tr',
        { 'data-key': r.key, class: gone ? 'deleted' : r.needs ? `needs needs-${r.needs}` : '' },
        h('th', { scope: 'row' }, h('a', { href: `#/r/${r.namespace}/${r.name}` }, r.name)),
        h('td', {}, r.namespace),
        h('td', {}, gone ? h('span', { class: 'phase' }, '⌫ Deleted') : phaseBadge(r.phase)),
        h('td', {}, r.step || '—'),
        h('td', { class: 'num' }, `${r.canaryWeight} %`),
        h(
          'td',
          { class: `metric-${r.worstStatus || 'none'}` },
          r.worstStatus ? h('span', { 'aria-hidden': 'true' }, STATUS_GLYPH[r.worstStatus], ' ') : '',
          r.worstMetric || '—',
        ),
        h('td', { 'data-ago': r.changedAt }, ago(r.changedAt)),
        h('td', {}, r.needs ? { promote: 'waiting for promote', failing: 'failing', stuck: 'stuck' }[r.needs] : ''),
        h('td', { class: 'sentence' }, r.sentence),
      );
    }),
  );
}

function showFleet() {
  document.title = 'Sluice rollouts';
  main.replaceChildren(
    h('h2', {}, 'Rollouts in every namespace'),
    h(
      'div',
      { class: 'toolbar' },
      h('label', { for: 'filter' }, 'Filter'),
      h('input', {
        id: 'filter',
        type: 'search',
        value: fleet.filter,
        placeholder: 'namespace/name',
        oninput: (e) => {
          fleet.filter = e.target.value;
          renderFleet();
        },
      }),
      h(
        'button',
        {
          type: 'button',
          id: 'needs-toggle',
          'aria-pressed': String(fleet.needsOnly),
          onclick: (e) => {
            fleet.needsOnly = !fleet.needsOnly;
            e.currentTarget.setAttribute('aria-pressed', String(fleet.needsOnly));
            renderFleet();
          },
        },
        'Needs me (',
        h('span', { id: 'needs-count' }, '0'),
        ')',
      ),
      h('span', { id: 'fleet-count', role: 'status' }),
    ),
    h(
      'table',
      { class: 'fleet' },
      h('caption', { class: 'visually-hidden' }, 'Rollouts: phase, step, canary weight, worst metric, last change'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Service', 'Namespace', 'Phase', 'Step', 'Canary weight', 'Worst metric', 'Last change', 'Needs', 'Status'].map((c) =>
            h('th', { scope: 'col' }, c),
          ),
        ),
      ),
      h('tbody', { id: 'fleet-body' }),
    ),
  );
  renderFleet();
  openStream('/dashboard/api/events', {
    snapshot: (rows) => {
      fleet.rows = new Map(rows.map((r) => [r.key, r]));
      fleet.deleted.clear();
      renderFleet();
    },
    row: (r) => {
      const old = fleet.rows.get(r.key);
      fleet.rows.set(r.key, r);
      fleet.deleted.delete(r.key);
      if (old && old.phase !== r.phase) announce(`${r.key}: ${r.sentence}`);
      renderFleet();
    },
    deleted: ({ key }) => {
      if (!fleet.rows.has(key)) return;
      fleet.deleted.add(key);
      announce(`${key} was deleted`);
      renderFleet();
      setTimeout(() => {
        if (fleet.deleted.delete(key)) {
          fleet.rows.delete(key);
          renderFleet();
        }
      }, 10_000);
    },
  });
}

// ---------- one rollout ----------
let current = null;

function chart(m) {
  const W = 560,
    H = 140,
    P = 28;
  const pts = m.points;
  // A comparing judge charts both means: canary solid, stable dashed (the table below has the numbers).
  const cmp = m.judge ? pts.map((p) => p.compare) : [];
  const values = m.judge
    ? cmp.filter(Boolean).flatMap((c) => [c.canaryMean, c.stableMean])
    : pts.filter((p) => p.value !== undefined).map((p) => p.value);
  const lines = [m.min, m.max].filter((v) => v !== undefined);
  let lo = Math.min(...values, ...lines),
    hi = Math.max(...values, ...lines);
  if (!Number.isFinite(lo)) (lo = 0), (hi = 1);
  if (hi === lo) (hi += 1), (lo -= 1);
  const pad = (hi - lo) * 0.1;
  lo -= pad;
  hi += pad;
  const x = (i) => P + (pts.length <= 1 ? (W - 2 * P) / 2 : (i * (W - 2 * P)) / (pts.length - 1));
  const y = (v) => H - P / 2 - ((v - lo) / (hi - lo)) * (H - P);
  const g = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': `${m.name} over the last ${pts.length} checks; the table below has the values` });
  for (const [v, label] of [
    [m.min, 'min'],
    [m.max, 'max'],
  ]) {
    if (v === undefined) continue;
    g.append(s('line', { x1: P, x2: W - P, y1: y(v), y2: y(v), class: 'threshold' }));
    g.append(s('text', { x: 2, y: y(v) + 4, class: 'axis' }, `${label} ${num(v)}`));
  }
  if (m.judge) {
    for (const [field, cls, label] of [
      ['canaryMean', 'series', 'canary mean'],
      ['stableMean', 'series series-stable', 'stable mean'],
    ]) {
      let d = '';
      cmp.forEach((c, i) => {
        if (c) d += `${d ? 'L' : 'M'}${x(i).toFixed(1)},${y(c[field]).toFixed(1)}`;
      });
      if (d) g.append(s('path', { d, class: cls }, s('title', {}, label)));
    }
    pts.forEach((p, i) => {
      const c = p.compare;
      if (!c) g.append(s('rect', { x: x(i) - 4, y: H - 10, width: 8, height: 8, class: `pt pt-${p.status}` }, s('title', {}, `${time(p.at)}: ${STATUS_TEXT[p.status]}`)));
      else g.append(s('circle', { cx: x(i), cy: y(c.canaryMean), r: 3.5, class: `pt pt-${p.status}` }, s('title', {}, `${time(p.at)}: canary ${num(c.canaryMean)}, stable ${num(c.stableMean)} — ${STATUS_TEXT[p.status]}`)));
    });
    return g;
  }
  let d = '';
  pts.forEach((p, i) => {
    if (p.value === undefined) return;
    d += `${d ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.value).toFixed(1)}`;
  });
  if (d) g.append(s('path', { d, class: 'series' }));
  pts.forEach((p, i) => {
    const cls = `pt pt-${p.status}`;
    if (p.value === undefined) g.append(s('rect', { x: x(i) - 4, y: H - 10, width: 8, height: 8, class: cls }, s('title', {}, `${time(p.at)}: ${STATUS_TEXT[p.status]}`)));
    else if (p.status === 'fail')
      g.append(s('path', { d: `M${x(i) - 4},${y(p.value) - 4}l8,8m0,-8l-8,8`, class: cls }, s('title', {}, `${time(p.at)}: ${num(p.value)} fail`)));
    else g.append(s('circle', { cx: x(i), cy: y(p.value), r: 3.5, class: cls }, s('title', {}, `${time(p.at)}: ${num(p.value)} ${STATUS_TEXT[p.status]}`)));
  });
  return g;
}

function metricSection(m) {
  const latest = m.latest;
  const thr = m.min !== undefined && m.max !== undefined ? `${num(m.min)}..${num(m.max)}` : m.min !== undefined ? `≥ ${num(m.min)}` : m.max !== undefined ? `≤ ${num(m.max)}` : 'none';
  return h(
    'section',
    { class: 'metric', 'aria-labelledby': `m-${m.name}` },
    h('h4', { id: `m-${m.name}` }, m.name),
    h(
      'p',
      { class: `metric-${latest ? latest.status : 'none'}` },
      latest ? [h('span', { 'aria-hidden': 'true' }, STATUS_GLYPH[latest.status], ' '), `latest ${num(latest.value)} — ${STATUS_TEXT[latest.status]}`] : 'no checks yet',
      ` · threshold ${thr} · pass ${m.counts.pass} · fail ${m.counts.fail} · no data ${m.counts.noData} · error ${m.counts.error}`,
      latest && latest.reason ? ` · ${latest.reason}` : '',
    ),
    m.compareLine
      ? h('p', { class: 'compare' }, h('strong', {}, 'Canary vs stable (Mann-Whitney): '), m.compareLine)
      : '',
    chart(m),
    h(
      'details',
      {},
      h('summary', {}, `Values of ${m.name} (table)`),
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ...['Time', 'Value', ...(m.judge ? ['Canary mean', 'Stable mean'] : []), 'Result', 'Reason'].map((c) => h('th', { scope: 'col' }, c)))),
        h(
          'tbody',
          {},
          ...m.points
            .slice()
            .reverse()
            .map((p) =>
              h(
                'tr',
                {},
                h('td', {}, time(p.at)),
                h('td', { class: 'num' }, num(p.value)),
                m.judge ? [h('td', { class: 'num' }, num(p.compare && p.compare.canaryMean)), h('td', { class: 'num' }, num(p.compare && p.compare.stableMean))] : '',
                h('td', {}, STATUS_TEXT[p.status]),
                h('td', {}, p.reason || ''),
              ),
            ),
        ),
      ),
    ),
    m.query
      ? h(
          'div',
          { class: 'query' },
          h('span', { id: `q-${m.name}` }, 'PromQL sent'),
          h('pre', { 'aria-labelledby': `q-${m.name}` }, h('code', {}, m.query)),
          h('button', { type: 'button', onclick: () => navigator.clipboard && navigator.clipboard.writeText(m.query) }, `Copy query of ${m.name}`),
        )
      : '',
  );
}

function openConfirm(v, a) {
  const dlg = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = `${a.name} ${v.row.key}?`;
  document.getElementById('confirm-effect').textContent = a.effect;
  document.getElementById('confirm-cli').textContent = a.cli;
  document.getElementById('confirm-ok').textContent = a.name;
  document.getElementById('confirm-error').textContent = '';
  const reason = document.getElementById('confirm-reason');
  reason.value = '';
  const form = document.getElementById('confirm-form');
  form.onsubmit = async (e) => {
    e.preventDefault();
    try {
      await api(`/dashboard/api/rollouts/${v.row.namespace}/${v.row.name}/${a.verb}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Sluice-CSRF': csrf },
        body: JSON.stringify(reason.value.trim() ? { reason: reason.value.trim() } : {}),
      });
      dlg.close();
      announce(`${a.name} requested for ${v.row.key}`);
    } catch (err) {
      document.getElementById('confirm-error').textContent = err.message;
    }
  };
  document.getElementById('confirm-cancel').onclick = () => dlg.close();
  dlg.showModal();
  reason.focus();
}

// What the signed-in user may do to the open rollout (SelfSubjectAccessReview on the server, cached briefly).
let access = null;
async function loadAccess(ns, name) {
  try {
    access = await api(`/dashboard/api/access/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`);
  } catch {
    access = { rollout: `${ns}/${name}`, patch: false, actions: [], error: true };
  }
  if (current && current.row.key === access.rollout) renderRollout(current);
}

function actionBar(v) {
  if (readOnly) return h('p', { class: 'read-only' }, 'Read-only dashboard: actions are off (--read-only).');
  if (!access || access.rollout !== v.row.key) return h('p', { class: 'read-only' }, 'Checking what you may do…');
  if (!access.patch)
    return h(
      'p',
      { class: 'read-only' },
      access.error
        ? 'Could not check your permissions; actions are hidden.'
        : `You (${access.user}) may view this rollout but not change it: RBAC does not allow patch on rollouts in ${v.row.namespace}.`,
    );
  return h(
    'div',
    { class: 'actions', role: 'group', 'aria-label': 'Actions' },
    ...v.actions.map((a) => {
      const whyId = `why-${a.verb}`;
      return h(
        'span',
        { class: 'action' },
        h(
          'button',
          {
            type: 'button',
            'data-verb': a.verb,
            'aria-disabled': a.enabled ? undefined : 'true',
            'aria-describedby': a.enabled ? undefined : whyId,
            title: a.enabled ? a.effect : a.why,
            onclick: () => (a.enabled ? openConfirm(v, a) : announce(a.why)),
          },
          a.name,
        ),
        a.enabled ? '' : h('span', { id: whyId, class: 'why' }, a.why),
      );
    }),
  );
}

function renderRollout(v) {
  const prev = current;
  current = v;
  document.title = `${v.row.key} — ${v.row.phase} — Sluice`;
  if (prev && prev.row.key === v.row.key) {
    if (prev.row.phase !== v.row.phase) announce(`${v.row.key}: ${v.sentence}`);
    else {
      const seen = prev.timeline.length ? prev.timeline[prev.timeline.length - 1].at : '';
      const fresh = v.timeline.filter((e) => e.at > seen);
      if (fresh.length) announce(fresh.map((e) => `${e.actor}: ${e.message}`).join('. '));
    }
  }
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.verb : undefined;
  const body = h(
    'article',
    { 'aria-labelledby': 'ro-title' },
    h('p', {}, h('a', { href: '#/' }, '← all rollouts')),
    h('h2', { id: 'ro-title' }, v.row.name, h('span', { class: 'ns' }, ` in ${v.row.namespace}`)),
    h('p', { class: `sentence phase-${v.row.phase}`, id: 'sentence', role: 'status' }, h('span', { 'aria-hidden': 'true' }, PHASE_GLYPH[v.row.phase] || '•', ' '), v.sentence),
    h('p', { class: 'next', id: 'next' }, v.next),
    v.deleted ? h('p', { class: 'error' }, 'This rollout was deleted.') : actionBar(v),
    h(
      'div',
      { class: 'grid' },
      h(
        'section',
        { 'aria-labelledby': 'steps-h' },
        h('h3', { id: 'steps-h' }, 'Steps'),
        h('p', {}, `${v.strategy || 'strategy —'} · policy ${v.policy || '—'} · ETA: ${v.etaText}`),
        h(
          'ol',
          { class: 'steps' },
          ...v.steps.map((st) =>
            h(
              'li',
              { class: `step step-${st.state}`, 'aria-current': st.state === 'current' ? 'step' : undefined },
              h('span', { class: 'step-state' }, st.state === 'done' ? '✔ done' : st.state === 'current' ? '▶ current' : '· pending'),
              ' ',
              st.label,
              st.endsAt ? h('span', { class: 'countdown', 'data-ends-at': st.endsAt }, ` — ${left(st.endsAt)} (ends ${time(st.endsAt)})`) : '',
            ),
          ),
        ),
      ),
      h(
        'section',
        { 'aria-labelledby': 'traffic-h' },
        h('h3', { id: 'traffic-h' }, 'Traffic: desired vs actual'),
        v.routerLagging ? h('p', { class: 'lagging' }, '⚠ the router has not applied the desired split yet') : '',
        h(
          'table',
          { class: 'traffic' },
          h('thead', {}, h('tr', {}, ...['Revision', 'Role', 'Desired (spec)', 'Actual (Route)', 'Tag URL'].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            {},
            ...v.traffic.map((t) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, t.revisionName),
                h('td', {}, t.role || '—'),
                h('td', { class: 'num' }, h('span', { class: 'bar', style: undefined, 'data-pct': t.desired }), `${t.desired} %`),
                h('td', { class: 'num' }, t.actual === undefined ? '—' : `${t.actual} %`),
                h('td', {}, t.url ? h('code', {}, t.url) : t.tag ? `tag ${t.tag}` : '—'),
              ),
            ),
          ),
        ),
      ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'analysis-h' },
      h('h3', { id: 'analysis-h' }, 'Analysis'),
      h('p', {}, v.analysisLine || 'no analysis configured'),
      ...v.metrics.map(metricSection),
    ),
    h(
      'section',
      { 'aria-labelledby': 'timeline-h' },
      h('h3', { id: 'timeline-h' }, 'Decision timeline'),
      v.timeline.length === 0
        ? h('p', {}, 'No decisions yet.')
        : h(
            'ol',
            { class: 'timeline', reversed: true },
            ...v.timeline
              .slice()
              .reverse()
              .map((e) =>
                h(
                  'li',
                  { class: `tl tl-${e.type}` },
                  h('time', { datetime: e.at }, time(e.at)),
                  ' ',
                  h('strong', {}, e.type === 'action' ? `${e.actor}: ${e.event}` : e.event),
                  ' — ',
                  e.message,
                  e.reason ? h('span', { class: 'reason' }, ` (reason: ${e.reason})`) : '',
                ),
              ),
          ),
    ),
    h(
      'section',
      { 'aria-labelledby': 'past-h' },
      h('h3', { id: 'past-h' }, 'Past rollouts'),
      v.pastRollouts.length === 0
        ? h('p', {}, 'None yet.')
        : h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ...['Revision', 'From', 'Outcome', 'Finished', 'Duration', 'Failed checks', 'Message'].map((c) => h('th', { scope: 'col' }, c)))),
            h(
              'tbody',
              {},
              ...v.pastRollouts
                .slice()
                .reverse()
                .map((p) =>
                  h('tr', {}, h('th', { scope: 'row' }, p.revision), h('td', {}, p.from), h('td', {}, phaseBadge(p.outcome)), h('td', {}, ago(p.finishedAt)), h('td', { class: 'num' }, `${p.durationSeconds} s`), h('td', { class: 'num' }, p.totalFailures), h('td', {}, p.message)),
                ),
            ),
          ),
    ),
  );
  main.replaceChildren(body);
  for (const b of main.querySelectorAll('.bar')) b.style.setProperty('--pct', `${b.dataset.pct}%`);
  if (focused) {
    const b = main.querySelector(`button[data-verb="${focused}"]`);
    if (b) b.focus();
  }
}

function showRollout(ns, name) {
  current = null;
  access = null;
  void loadAccess(ns, name);
  main.replaceChildren(h('p', {}, 'Loading…'));
  openStream(`/dashboard/api/events?rollout=${encodeURIComponent(`${ns}/${name}`)}`, {
    rollout: renderRollout,
    deleted: () => {
      if (current) renderRollout({ ...current, deleted: true, sentence: 'Deleted — this rollout no longer exists' });
      else main.replaceChildren(h('p', { class: 'error' }, `No rollout ${ns}/${name}.`), h('p', {}, h('a', { href: '#/' }, '← all rollouts')));
      announce(`${ns}/${name} was deleted`);
    },
  });
}

function routeTo() {
  lastEventId = '';
  const m = /^#\/r\/([^/]+)\/([^/]+)$/.exec(location.hash);
  if (m) showRollout(decodeURIComponent(m[1]), decodeURIComponent(m[2]));
  else showFleet();
  main.focus({ preventScroll: true });
}
window.addEventListener('hashchange', routeTo);

// Countdowns and "ago" cells tick without a server round trip.
setInterval(() => {
  for (const el of document.querySelectorAll('[data-ends-at]')) el.textContent = ` — ${left(el.dataset.endsAt)} (ends ${time(el.dataset.endsAt)})`;
  for (const el of document.querySelectorAll('[data-ago]')) el.textContent = ago(el.dataset.ago);
}, 1000);

document.getElementById('logout').addEventListener('click', async () => {
  closeStream();
  streamUrl = '';
  await fetch('/dashboard/logout', { method: 'POST', credentials: 'same-origin', headers: { 'X-Sluice-CSRF': csrf } });
  location.assign('/dashboard/');
});
document.getElementById('help-button').addEventListener('click', () => document.getElementById('help').showModal());
document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || document.querySelector('dialog[open]')) return;
  if (e.key === '/') {
    const f = document.getElementById('filter');
    if (f) {
      e.preventDefault();
      f.focus();
    }
  } else if (e.key === 'g') location.hash = '#/';
  else if (e.key === 'n') document.getElementById('needs-toggle')?.click();
  else if (e.key === '?') document.getElementById('help').showModal();
});

routeTo();
