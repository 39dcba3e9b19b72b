'use strict';

// The Thruster dashboard's single page: hash routes (#/cluster, #/topics, #/topics/T, #/groups, #/groups/G,
// #/messages, #/dlq) rendered from the JSON API (apps/thruster/dashboard_api.h). Pages that show live figures
// poll every REFRESH_MS and feed the canvas charts of charts.js; leaving a page stops its timers.

const REFRESH_MS = 3000;

// ---------- small helpers ----------

// h('div', { class: 'x', onclick: f }, child, 'text', [more]) → an element; strings become text nodes.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  const add = c => {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c)) c.forEach(add);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  };
  children.forEach(add);
  return el;
}

const fmtInt = n => (Number.isFinite(Number(n)) ? Number(n).toLocaleString('en-US') : '-');
const fmtRate = n => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: 1 }) : '-');
function fmtTime(ms) {
  const n = Number(ms);
  if (!Number.isFinite(n) || n <= 0) return '-';
  const d = new Date(n);
  const p = v => String(v).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:` +
    `${p(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}
function fmtBytes(n) {
  if (!Number.isFinite(n)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}
const firstNumber = s => parseFloat(String(s ?? '').split(' ')[0]);

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, { method = 'GET', body } = {}) {
  const res = await fetch(path, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : undefined,
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) throw new ApiError(res.status, (data && data.error) || `${res.status} ${res.statusText}`);
  setLive(true);
  return data;
}
const q = params => new URLSearchParams(params).toString();

function setLive(ok, text) {
  document.getElementById('live-dot').classList.toggle('down', !ok);
  document.getElementById('live-text').textContent =
    text || (ok ? `Live · refresh ${REFRESH_MS / 1000} s` : 'Offline');
}

function toast(message, kind = 'ok') {
  const t = h('div', { class: `toast ${kind === 'error' ? 'error' : ''}`, role: 'status' }, message);
  document.getElementById('toasts').append(t);
  setTimeout(() => t.remove(), 5000);
}

function badgeForKind(kind) { return h('span', { class: `badge ${kind.toLowerCase()}` }, kind); }

function table(columns, rows, { empty = 'Nothing here yet.', onRow, testid } = {}) {
  // columns: [{ title, num, render(row) }]
  const head = h('tr', {}, columns.map(c => h('th', { class: c.num ? 'num' : '' }, c.title)));
  const body = h('tbody', {});
  if (rows.length === 0) {
    body.append(h('tr', {}, h('td', { class: 'empty', colspan: columns.length }, empty)));
  }
  for (const r of rows) {
    const tr = h('tr', { class: onRow ? 'clickable' : '' },
      columns.map(c => h('td', { class: [c.num ? 'num' : '', c.mono ? 'mono' : ''].join(' ').trim() }, c.render(r))));
    if (onRow) tr.addEventListener('click', e => { if (!e.target.closest('button, a, input')) onRow(r); });
    body.append(tr);
  }
  return h('div', { class: 'scroll' }, h('table', { 'data-testid': testid }, h('thead', {}, head), body));
}

function panel(title, body, actions) {
  return h('section', { class: 'panel' },
    h('div', { class: 'panel-head' }, h('h2', {}, title), actions || null),
    body);
}

function card(label, value, sub, testid) {
  return h('div', { class: 'card' },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value', 'data-testid': testid }, value),
    sub ? h('div', { class: 'sub' }, sub) : null);
}

function pageHead(title, subtitle, actions, crumb) {
  return h('div', { class: 'page-head' },
    h('div', {}, crumb ? h('div', { class: 'crumb' }, crumb) : null, h('h1', {}, title),
      subtitle ? h('p', {}, subtitle) : null),
    actions || null);
}

function chartPanel(title, series, unit) {
  const canvas = h('canvas', { class: 'chart' });
  const legend = h('div', { class: 'legend' },
    series.map(s => h('span', {}, h('i', { style: `background:${s.color}` }), s.name)));
  const chart = new LineChart(canvas, { series, unit });
  return { el: panel(title, h('div', { class: 'panel-body' }, canvas), legend), chart };
}

function errorNotice(err) { return h('div', { class: 'notice', role: 'alert' }, err.message); }

// ---------- the page lifecycle ----------

let current = null;  // { timers: [], charts: [] } of the page on screen

function page() {
  const p = { timers: [], charts: [], alive: true };
  current = p;
  return p;
}

// Runs `tick` now and every REFRESH_MS while `p` is on screen. A refusal of the request (4xx: no such topic,
// a group with no offsets yet) shows in `notice`; any other failure marks the UI offline.
function every(p, tick, notice) {
  const run = async () => {
    if (!p.alive) return;
    try {
      await tick();
      notice?.replaceChildren();
    } catch (err) {
      if (!p.alive) return;
      if (notice && err instanceof ApiError && err.status >= 400 && err.status < 500) {
        notice.replaceChildren(errorNotice(err));
      } else {
        setLive(false, `Offline: ${err.message}`);
      }
    }
  };
  run();
  p.timers.push(setInterval(run, REFRESH_MS));
}

function leave() {
  if (!current) return;
  current.alive = false;
  current.timers.forEach(clearInterval);
  current.charts.forEach(c => c.dispose());
  current = null;
}

// ---------- Cluster ----------

function clusterPage(main) {
  const p = page();
  const cards = h('div', { class: 'cards' });
  const tps = chartPanel('Throughput (messages/s)', [
    { name: 'In (put)', color: '#3b5bdb' }, { name: 'Out (get)', color: '#12b76a' }]);
  p.charts.push(tps.chart);
  const brokers = h('div', {});
  main.append(pageHead('Cluster', 'Brokers registered with the name server, with their live traffic.'),
    cards, tps.el, panel('Brokers', brokers));

  let last = null;  // { t, put, get } totals of the previous sample
  every(p, async () => {
    const data = await api('/api/cluster');
    if (!p.alive) return;
    const now = Date.now();
    let put = 0, get = 0, inTps = 0, outTps = 0;
    for (const b of data.brokers) {
      put += Number(b.runtime.msgPutTotalTodayNow || 0);
      get += Number(b.runtime.msgGetTotalTodayNow || 0);
      inTps += firstNumber(b.runtime.putTps) || 0;
      outTps += firstNumber(b.runtime.getTransferedTps) || 0;
    }
    if (last && now > last.t && put >= last.put && get >= last.get) {
      const dt = (now - last.t) / 1000;
      tps.chart.add(now, [(put - last.put) / dt, (get - last.get) / dt]);
    }
    last = { t: now, put, get };

    const clusters = new Set(data.brokers.map(b => b.cluster));
    cards.replaceChildren(
      card('Brokers', fmtInt(data.brokers.length), `${clusters.size} cluster${clusters.size === 1 ? '' : 's'}`,
        'broker-count'),
      card('In TPS', fmtRate(inTps), 'messages/s, last 10 s'),
      card('Out TPS', fmtRate(outTps), 'messages/s, last 10 s'),
      card('Put today', fmtInt(put), 'messages stored since midnight'),
      card('Get today', fmtInt(get), 'messages delivered since midnight'));
    brokers.replaceChildren(table([
      { title: 'Cluster', render: b => b.cluster },
      { title: 'Broker', render: b => b.brokerName },
      { title: 'ID', num: true, render: b => b.brokerId },
      { title: 'Role', render: b => b.error ? h('span', { class: 'badge bad', title: b.error }, 'UNREACHABLE')
        : h('span', { class: `badge ${b.role.toLowerCase()}` }, b.role) },
      { title: 'Address', mono: true, render: b => b.addr },
      { title: 'Version', render: b => b.runtime.brokerVersionDesc || '-' },
      { title: 'In TPS', num: true, render: b => fmtRate(firstNumber(b.runtime.putTps)) },
      { title: 'Out TPS', num: true, render: b => fmtRate(firstNumber(b.runtime.getTransferedTps)) },
      { title: 'Disk used', num: true, render: b => diskUse(b.runtime) },
      { title: 'Dispatch behind', num: true, render: b => fmtBytes(Number(b.runtime.dispatchBehindBytes)) },
      { title: 'Uptime', render: b => fmtUptime(Number(b.runtime.bootTimestamp)) },
    ], data.brokers, { empty: 'No broker is registered with the name server.', testid: 'brokers' }));
  });
}

function fmtUptime(bootMs) {
  if (!Number.isFinite(bootMs) || bootMs <= 0) return '-';
  const s = Math.max(0, Math.floor((Date.now() - bootMs) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function diskUse(runtime) {
  const ratio = parseFloat(runtime.commitLogDiskRatio);
  return Number.isFinite(ratio) ? `${(ratio * 100).toFixed(1)} %` : '-';
}

// ---------- Topics ----------

function topicsPage(main) {
  const p = page();
  const filter = h('input', { type: 'text', class: 'grow', placeholder: 'Filter topics…', 'aria-label': 'Filter' });
  const showSystem = h('input', { type: 'checkbox' });
  const list = h('div', {});
  const dialog = createTopicDialog(() => load().catch(err => setLive(false, `Offline: ${err.message}`)));
  main.append(
    pageHead('Topics', 'Every topic the name server routes.',
      h('button', { class: 'btn primary', 'data-testid': 'create-topic', onclick: () => dialog.showModal() },
        'Create topic')),
    panel('All topics', list, h('div', { class: 'toolbar' }, filter,
      h('label', { class: 'check' }, showSystem, 'System, retry and DLQ topics'))),
    dialog);
  let topics = [];
  const render = () => {
    const f = filter.value.trim().toLowerCase();
    const rows = topics.filter(t => (showSystem.checked || t.kind === 'NORMAL') &&
      (!f || t.topic.toLowerCase().includes(f)));
    list.replaceChildren(table([
      { title: 'Topic', render: t => h('a', { href: `#/topics/${encodeURIComponent(t.topic)}` }, t.topic) },
      { title: 'Kind', render: t => badgeForKind(t.kind) },
      { title: '', num: true, render: t => h('span', { class: 'toolbar', style: 'justify-content:flex-end' },
        h('a', { class: 'btn small', href: `#/topics/${encodeURIComponent(t.topic)}` }, 'Details'),
        t.kind === 'NORMAL' ? h('button', { class: 'btn small danger', onclick: () => deleteTopic(t.topic) },
          'Delete') : null) },
    ], rows, { empty: f ? 'No topic matches the filter.' : 'No topics yet: create one.', testid: 'topics',
      onRow: t => { location.hash = `#/topics/${encodeURIComponent(t.topic)}`; } }));
  };
  filter.addEventListener('input', render);
  showSystem.addEventListener('change', render);
  // A new topic reaches the name server with its broker's next registration: the list follows it live.
  async function load() {
    const d = await api('/api/topics');
    if (!p.alive) return;
    topics = d.topics;
    render();
  }
  async function deleteTopic(topic) {
    if (!confirm(`Delete topic ${topic} from every broker and the name server?`)) return;
    try {
      await api(`/api/topic?${q({ topic })}`, { method: 'DELETE' });
      toast(`Deleted topic ${topic}`);
      await load();
    } catch (err) { toast(err.message, 'error'); }
  }
  every(p, load);
}

function createTopicDialog(onCreated) {
  const name = h('input', { type: 'text', name: 'topic', required: true, pattern: '[a-zA-Z0-9_%\\|\\-]{1,127}',
    placeholder: 'OrderEvents' });
  const read = h('input', { type: 'number', name: 'readQueueNums', min: 1, max: 1024, value: 8 });
  const write = h('input', { type: 'number', name: 'writeQueueNums', min: 1, max: 1024, value: 8 });
  const perm = h('select', { name: 'perm' },
    h('option', { value: 6 }, 'Read + write'), h('option', { value: 4 }, 'Read only'),
    h('option', { value: 2 }, 'Write only'));
  const error = h('div', {});
  const dialog = h('dialog', { 'data-testid': 'create-topic-dialog' });
  const form = h('form', { method: 'dialog' },
    h('h3', {}, 'Create topic'), error,
    h('div', { class: 'form-grid' },
      h('div', { class: 'field', style: 'grid-column:1/-1' }, h('label', {}, 'Topic name'), name),
      h('div', { class: 'field' }, h('label', {}, 'Read queues'), read),
      h('div', { class: 'field' }, h('label', {}, 'Write queues'), write),
      h('div', { class: 'field' }, h('label', {}, 'Permission'), perm)),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => dialog.close() }, 'Cancel'),
      h('button', { type: 'submit', class: 'btn primary' }, 'Create')));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    try {
      const res = await api('/api/topic', { method: 'POST', body: {
        topic: name.value.trim(), readQueueNums: Number(read.value), writeQueueNums: Number(write.value),
        perm: Number(perm.value) } });
      dialog.close();
      toast(`Created topic ${res.topic} on ${res.brokers.length} broker${res.brokers.length === 1 ? '' : 's'}`);
      name.value = '';
      error.replaceChildren();
      onCreated();
    } catch (err) { error.replaceChildren(errorNotice(err)); }
  });
  dialog.append(form);
  return dialog;
}

function topicDetailPage(main, topic) {
  const p = page();
  const cards = h('div', { class: 'cards' });
  const rate = chartPanel('Message rate (messages/s)', [{ name: 'Stored', color: '#3b5bdb' }]);
  p.charts.push(rate.chart);
  const queues = h('div', {});
  const route = h('div', {});
  const notice = h('div', {});
  main.append(pageHead(topic, null, null, h('a', { href: '#/topics' }, '← Topics')), notice,
    cards, rate.el, h('div', { class: 'grid2' }, panel('Queues', queues), panel('Route', route)));
  let last = null;
  every(p, async () => {
    const d = await api(`/api/topic?${q({ topic })}`);
    if (!p.alive) return;
    const now = Date.now();
    const maxSum = d.queues.reduce((s, x) => s + x.maxOffset, 0);
    if (last && now > last.t && maxSum >= last.max) {
      rate.chart.add(now, [(maxSum - last.max) / ((now - last.t) / 1000)]);
    }
    last = { t: now, max: maxSum };
    const updated = Math.max(0, ...d.queues.map(x => x.lastUpdateTimestamp));
    cards.replaceChildren(
      card('Kind', badgeForKind(d.kind)),
      card('Queues', fmtInt(d.queues.length), `${d.brokers.length} broker${d.brokers.length === 1 ? '' : 's'}`),
      card('Messages held', fmtInt(d.messages), 'max − min offset, all queues', 'topic-messages'),
      card('Last write', updated > 0 ? fmtTime(updated).slice(11, 19) : '-',
        updated > 0 ? fmtTime(updated).slice(0, 10) : 'never'));
    queues.replaceChildren(table([
      { title: 'Broker', render: x => x.brokerName },
      { title: 'Queue', num: true, render: x => x.queueId },
      { title: 'Min offset', num: true, render: x => fmtInt(x.minOffset) },
      { title: 'Max offset', num: true, render: x => fmtInt(x.maxOffset) },
      { title: 'Last updated', render: x => fmtTime(x.lastUpdateTimestamp) },
    ], d.queues, { testid: 'topic-queues' }));
    route.replaceChildren(table([
      { title: 'Broker', render: b => b.brokerName },
      { title: 'Read', num: true, render: b => b.readQueueNums },
      { title: 'Write', num: true, render: b => b.writeQueueNums },
      { title: 'Perm', render: b => ({ 2: 'W', 4: 'R', 6: 'RW' })[b.perm] || b.perm },
      { title: 'Master', mono: true, render: b => b.addrs['0'] || '-' },
    ], d.brokers));
  }, notice);
}

// ---------- Consumer groups ----------

function groupsPage(main) {
  const p = page();
  const list = h('div', {});
  main.append(pageHead('Consumers', 'Consumer groups, their backlog and online clients.'), panel('Groups', list));
  every(p, async () => {
    const d = await api('/api/groups');
    if (!p.alive) return;
    list.replaceChildren(table([
      { title: 'Group', render: g => h('a', { href: `#/groups/${encodeURIComponent(g.group)}` }, g.group) },
      { title: 'Topics', render: g => (g.topics || []).join(', ') || '-' },
      { title: 'Online clients', num: true, render: g => g.online },
      { title: 'Mode', render: g => g.messageModel || '-' },
      { title: 'Consume TPS', num: true, render: g => fmtRate(g.consumeTps) },
      { title: 'Lag', num: true, render: g => g.error ? h('span', { title: g.error }, '-')
        : h('span', { class: g.diffTotal > 1000 ? 'lag-high' : '' }, fmtInt(g.diffTotal)) },
    ], d.groups, { empty: 'No consumer group has consumed yet.', testid: 'groups',
      onRow: g => { location.hash = `#/groups/${encodeURIComponent(g.group)}`; } }));
  });
}

function groupDetailPage(main, group) {
  const p = page();
  const cards = h('div', { class: 'cards' });
  const lag = chartPanel('Lag (messages behind)', [{ name: 'Lag', color: '#f79009' }]);
  p.charts.push(lag.chart);
  const queues = h('div', {});
  const clients = h('div', {});
  const resetTopic = h('select', { 'aria-label': 'Topic' });
  const local = new Date(Date.now() - 60 * 60 * 1000 - new Date().getTimezoneOffset() * 60000);
  const resetTime = h('input', { type: 'datetime-local', step: 1, value: local.toISOString().slice(0, 19),
    'aria-label': 'Time' });
  const reset = h('div', { class: 'panel-body' },
    h('div', { class: 'form-grid' },
      h('div', { class: 'field' }, h('label', {}, 'Topic'), resetTopic),
      h('div', { class: 'field' }, h('label', {}, 'Consume again from (local time)'), resetTime),
      h('div', {}, h('button', { class: 'btn primary', onclick: resetOffset }, 'Reset offset'))));
  const notice = h('div', {});
  main.append(pageHead(group, null, null, h('a', { href: '#/groups' }, '← Consumers')), notice,
    cards, lag.el, panel('Progress by queue', queues),
    h('div', { class: 'grid2' }, panel('Online clients', clients), panel('Reset offset by time', reset)));

  every(p, async () => {
    const d = await api(`/api/group?${q({ group })}`);
    if (!p.alive) return;
    lag.chart.add(Date.now(), [d.diffTotal]);
    cards.replaceChildren(
      card('Lag', fmtInt(d.diffTotal), 'messages not yet consumed', 'group-lag'),
      card('Consume TPS', fmtRate(d.consumeTps), 'messages/s'),
      card('Online clients', fmtInt(d.connections.length), d.messageModel || 'no client connected'),
      card('Queues', fmtInt(d.queues.length), d.consumeType || ''));
    queues.replaceChildren(table([
      { title: 'Topic', render: x => x.topic },
      { title: 'Broker', render: x => x.brokerName },
      { title: 'Queue', num: true, render: x => x.queueId },
      { title: 'Broker offset', num: true, render: x => fmtInt(x.brokerOffset) },
      { title: 'Consumer offset', num: true, render: x => fmtInt(x.consumerOffset) },
      { title: 'Lag', num: true, render: x => h('span', { class: x.diff > 1000 ? 'lag-high' : '' }, fmtInt(x.diff)) },
      { title: 'Last consumed', render: x => fmtTime(x.lastTimestamp) },
    ], d.queues, { testid: 'group-queues' }));
    clients.replaceChildren(table([
      { title: 'Client ID', mono: true, render: c => c.clientId },
      { title: 'Address', mono: true, render: c => c.clientAddr },
      { title: 'Language', render: c => c.language },
    ], d.connections, { empty: 'No client of this group is online.' }));
    const topics = [...new Set(d.queues.map(x => x.topic))].filter(t => !t.startsWith('%RETRY%'));
    const chosen = resetTopic.value;
    if (topics.join() !== [...resetTopic.options].map(o => o.value).join()) {
      resetTopic.replaceChildren(...topics.map(t => h('option', { value: t }, t)));
      if (topics.includes(chosen)) resetTopic.value = chosen;
    }
  }, notice);

  async function resetOffset() {
    const timestamp = new Date(resetTime.value).getTime();
    if (!resetTopic.value || !Number.isFinite(timestamp)) { toast('Choose a topic and a time', 'error'); return; }
    try {
      const r = await api('/api/group/resetOffset', { method: 'POST',
        body: { group, topic: resetTopic.value, timestamp, force: true } });
      toast(`Reset ${r.queues.length} queue${r.queues.length === 1 ? '' : 's'} of ${r.topic}`);
    } catch (err) { toast(err.message, 'error'); }
  }
}

// ---------- Messages ----------

function messagesPage(main, params) {
  page();
  const results = h('div', {});
  const detail = h('div', {});
  const forms = {
    key: searchForm([['topic', 'Topic'], ['key', 'Message key']], v => `/api/messages/byKey?${q(v)}`),
    id: searchForm([['id', 'Message ID (unique or offset ID)'], ['topic', 'Topic (optional)', true]],
      v => `/api/messages/byId?${q(v)}`),
    offset: searchForm(
      [['topic', 'Topic'], ['broker', 'Broker name'], ['queueId', 'Queue ID'], ['offset', 'Queue offset']],
      v => `/api/messages/byOffset?${q(v)}`),
    time: searchForm([['topic', 'Topic'], ['begin', 'Stored from', false, 'datetime-local'],
      ['end', 'Stored until', false, 'datetime-local']],
    v => `/api/messages/byTime?${q({ topic: v.topic || '', begin: new Date(v.begin).getTime(),
      end: new Date(v.end).getTime() })}`),
  };
  const tabNames = { key: 'By key', id: 'By message ID', offset: 'By queue offset', time: 'By time range' };
  let active = params.get('by') in forms ? params.get('by') : 'key';
  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  const body = h('div', { class: 'panel-body' });
  const showTab = name => {
    active = name;
    tabs.replaceChildren(...Object.keys(forms).map(k => h('button', { class: k === name ? 'active' : '',
      role: 'tab', onclick: () => showTab(k) }, tabNames[k])));
    body.replaceChildren(forms[name].el);
  };
  showTab(active);
  main.append(pageHead('Messages', 'Find a message by key, ID or queue offset, and look inside it.'),
    h('section', { class: 'panel' }, tabs, body), results, detail);

  function searchForm(fields, url) {
    const inputs = fields.map(([name, label, optional, type]) =>
      [name, h('input', { type: type || 'text', name, required: !optional, 'aria-label': label,
        placeholder: label, title: label, step: type === 'datetime-local' ? '1' : undefined })]);
    const form = h('form', { class: 'toolbar' }, inputs.map(([, i]) => i),
      h('button', { class: 'btn primary', type: 'submit' }, 'Search'));
    form.addEventListener('submit', async e => {
      e.preventDefault();
      const v = {};
      for (const [name, i] of inputs) if (i.value.trim()) v[name] = i.value.trim();
      await search(url(v));
    });
    return { el: form, inputs: Object.fromEntries(inputs) };
  }

  async function search(url) {
    detail.replaceChildren();
    try {
      const d = await api(url);
      const title = `Results (${d.messages.length}${d.truncated ? `, the first ${d.limit}` : ''})`;
      results.replaceChildren(panel(title, table([
        { title: 'Message ID', mono: true, render: m => m.msgId },
        { title: 'Topic', render: m => m.topic },
        { title: 'Tags', render: m => m.tags || '-' },
        { title: 'Keys', render: m => m.keys || '-' },
        { title: 'Queue', num: true, render: m => m.queueId },
        { title: 'Offset', num: true, render: m => fmtInt(m.queueOffset) },
        { title: 'Stored', render: m => fmtTime(m.storeTimestamp) },
        { title: 'Size', num: true, render: m => fmtBytes(m.storeSize) },
      ], d.messages, { empty: 'No message matches.', testid: 'message-results',
        onRow: m => showDetail(m) })));
      if (d.messages.length === 1) showDetail(d.messages[0]);
    } catch (err) { results.replaceChildren(errorNotice(err)); }
  }

  async function showDetail(m) {
    try {
      const full = m.properties ? m : (await api(`/api/messages/byId?${q({ id: m.offsetMsgId, topic: m.topic })}`))
        .messages[0];
      detail.replaceChildren(messageDetail(full));
      detail.scrollIntoView({ block: 'start' });
    } catch (err) { detail.replaceChildren(errorNotice(err)); }
  }

  // Deep links from other pages: #/messages?by=id&id=...
  if (params.get('id') && active === 'id') {
    forms.id.inputs.id.value = params.get('id');
    if (params.get('topic')) forms.id.inputs.topic.value = params.get('topic');
    const byId = { id: params.get('id') };
    if (params.get('topic')) byId.topic = params.get('topic');
    search(`/api/messages/byId?${q(byId)}`);
  }
}

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

function hexDump(bytes) {
  const lines = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.slice(i, i + 16);
    const hex = [...row].map(b => b.toString(16).padStart(2, '0')).join(' ');
    const text = [...row].map(b => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${i.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${text}`);
  }
  return lines.join('\n');
}

function messageDetail(m) {
  const bytes = hexToBytes(m.bodyHex || '');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const pre = h('pre', { class: 'body', 'data-testid': 'message-body' }, text);
  const textBtn = h('button', { class: 'btn small primary' }, 'Text');
  const hexBtn = h('button', { class: 'btn small' }, 'Hex');
  const show = (content, on, off) => {
    pre.textContent = content;
    on.classList.add('primary');
    off.classList.remove('primary');
  };
  textBtn.addEventListener('click', () => show(text, textBtn, hexBtn));
  hexBtn.addEventListener('click', () => show(hexDump(bytes), hexBtn, textBtn));
  const fields = [
    ['Message ID', m.msgId], ['Offset message ID', m.offsetMsgId], ['Topic', m.topic], ['Tags', m.tags || '-'],
    ['Keys', m.keys || '-'], ['Queue', `${m.queueId} @ offset ${m.queueOffset}`],
    ['Commit log offset', m.commitLogOffset], ['Store size', `${m.storeSize} bytes`],
    ['Born', `${fmtTime(m.bornTimestamp)} from ${m.bornHost}`],
    ['Stored', `${fmtTime(m.storeTimestamp)} on ${m.storeHost}`],
    ['Reconsume times', m.reconsumeTimes], ['Body CRC', m.bodyCRC], ['System flag', m.sysFlag], ['Flag', m.flag],
  ];
  const props = Object.entries(m.properties || {}).sort(([a], [b]) => a.localeCompare(b));
  return h('div', { 'data-testid': 'message-detail' },
    h('div', { class: 'grid2' },
      panel('Message', h('div', { class: 'panel-body kv' },
        fields.map(([k, v]) => [h('div', {}, k), h('div', {}, String(v))]))),
      panel('Properties', table([
        { title: 'Key', render: ([k]) => k }, { title: 'Value', mono: true, render: ([, v]) => v }], props,
      { testid: 'message-properties' }))),
    panel(`Body (${fmtBytes(bytes.length)})`, h('div', { class: 'panel-body' }, pre),
      h('div', { class: 'toolbar' }, textBtn, hexBtn)),
    journeyView(m));
}

// ---------- Message journey ----------

const JOURNEY_STAGES = {
  stored: 'Stored', dispatched: 'Dispatched', fetched: 'Fetched', acknowledged: 'Acknowledged',
  retryScheduled: 'Retry scheduled', retried: 'Retried', dlq: 'Dead letter', resent: 'Re-sent',
  duplicate: 'Stored again',
};
const JOURNEY_STATUS = {
  consumed: 'Consumed', fetched: 'Fetched, not acknowledged', notConsumed: 'Not consumed yet',
  retryScheduled: 'Waiting to retry', dlq: 'In the DLQ',
};

// The "Journey" button of a message's detail and the timeline it loads: where the broker holds the message and,
// per consumer group, what happened to it (the broker's TRACE_MESSAGE answer).
function journeyView(m) {
  const out = h('div', { 'data-testid': 'journey' });
  const btn = h('button', { class: 'btn primary', 'data-testid': 'journey-button', onclick: load }, 'Journey');
  const box = h('section', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', {}, 'Message journey'),
    btn), out);
  async function load() {
    btn.disabled = true;
    out.replaceChildren(h('div', { class: 'panel-body' }, 'Asking the brokers…'));
    try {
      const d = await api(`/api/messages/journey?${q({ id: m.msgId, topic: m.topic })}`);
      out.replaceChildren(...d.brokers.flatMap(b => b.messages.map(msg => journeyMessage(b, msg))));
    } catch (err) { out.replaceChildren(errorNotice(err)); } finally { btn.disabled = false; }
  }
  return box;
}

function journeyWhere(e) { return `${e.topic} · queue ${e.queueId} @ ${fmtInt(e.queueOffset)}`; }

function journeyDetail(e) {
  switch (e.stage) {
    case 'fetched':
      if (e.clientId === undefined) return `pulled (the group's pull offset is ${e.pullOffset})`;
      return `${e.how} by ${e.clientId || 'an unregistered client'} (${e.clientAddr}), offsets ` +
        `${e.fromOffset}–${e.toOffset - 1}`;
    case 'acknowledged': return `committed offset ${fmtInt(e.committedOffset)}`;
    case 'dispatched': return e.inIndex ? 'consume queue and index' : 'consume queue';
    default: {
      let s = `commit log ${fmtInt(e.commitLogOffset)}, ${fmtBytes(e.storeSize)}`;
      if (e.reconsumeTimes > 0) s += `, reconsume ${e.reconsumeTimes}`;
      if (e.stage === 'retryScheduled') s += `, delay level ${e.delayLevel}, due ${fmtTime(e.dueTimestamp)}`;
      if (!e.inConsumeQueue) s += ', not dispatched yet';
      return s;
    }
  }
}

function journeyMessage(broker, msg) {
  const groups = msg.groups.map(g => h('div', { class: 'journey-group', 'data-testid': 'journey-group',
    dataset: { group: g.group, status: g.status } },
  h('div', { class: 'journey-group-head' }, h('strong', {}, g.group),
    h('span', { class: `badge journey-${g.status}` }, JOURNEY_STATUS[g.status] || g.status)),
  h('ol', { class: 'journey-timeline' }, g.timeline.map(e => h('li', { class: `journey-${e.stage}`,
    'data-testid': 'journey-stage', dataset: { stage: e.stage } },
  h('span', { class: 'journey-time' }, e.timestamp > 0 ? fmtTime(e.timestamp) : ''),
  h('span', { class: 'journey-stage' }, JOURNEY_STAGES[e.stage] || e.stage),
  h('span', { class: 'journey-where' }, journeyWhere(e)),
  h('span', { class: 'journey-detail' }, journeyDetail(e)))))));
  return h('div', { class: 'panel-body' },
    h('p', { class: 'muted' }, `${msg.uniqKey || msg.offsetMsgId} in ${msg.topic} on ${broker.brokerName} ` +
      `(${broker.brokerAddr})`),
    msg.note ? h('p', { class: 'muted' }, msg.note) : null,
    groups.length ? groups : h('p', { class: 'muted' }, 'No consumer group has subscribed to or fetched it.'));
}

// ---------- Dead letters ----------

function dlqPage(main, params) {
  const p = page();
  const groupSelect = h('select', { 'aria-label': 'Consumer group', 'data-testid': 'dlq-group' });
  const list = h('div', {});
  const resendSelected = h('button', { class: 'btn primary', disabled: true, onclick: () => resend(selected()) },
    'Re-send selected');
  main.append(pageHead('Dead letters',
    'Messages a consumer group gave up on. Re-sending puts a copy back on its original topic.'),
    panel('Dead-letter queue', list, h('div', { class: 'toolbar' }, groupSelect, resendSelected)));
  let messages = [];
  const checks = new Map();
  const selected = () => messages.filter(m => checks.get(m.msgId)?.checked).map(m => m.msgId);

  async function loadGroups() {
    try {
      const groups = (await api('/api/groups')).groups.map(g => g.group);
      const want = params.get('group');
      if (want && !groups.includes(want)) groups.unshift(want);
      groupSelect.replaceChildren(...groups.map(g => h('option', { value: g }, g)));
      if (want) groupSelect.value = want;
      if (groups.length) load(); else list.replaceChildren(h('div', { class: 'empty' }, 'No consumer group yet.'));
    } catch (err) { list.replaceChildren(errorNotice(err)); }
  }
  async function load() {
    const group = groupSelect.value;
    try {
      const d = await api(`/api/dlq?${q({ group })}`);
      if (!p.alive || group !== groupSelect.value) return;
      messages = d.messages;
      checks.clear();
      const all = h('input', { type: 'checkbox', 'aria-label': 'Select all', onchange: e => {
        checks.forEach(c => { c.checked = e.target.checked; });
        resendSelected.disabled = selected().length === 0;
      } });
      list.replaceChildren(table([
        { title: all, render: m => {
          const c = h('input', { type: 'checkbox', 'aria-label': `Select ${m.msgId}`,
            onchange: () => { resendSelected.disabled = selected().length === 0; } });
          checks.set(m.msgId, c);
          return c;
        } },
        { title: 'Message ID', mono: true, render: m => [h('a', {
          href: `#/messages?${q({ by: 'id', id: m.offsetMsgId, topic: m.topic })}` }, m.msgId),
          m.originMsgId ? h('span', { class: 'sub-line' }, `first sent as ${m.originMsgId}`) : null] },
        { title: 'Original topic', render: m => m.originTopic || '-' },
        { title: 'Keys', render: m => m.keys || '-' },
        { title: 'Retries', num: true, render: m => m.reconsumeTimes },
        { title: 'Died at', render: m => fmtTime(m.storeTimestamp).slice(0, 19) },
        { title: '', num: true, render: m => h('button', { class: 'btn small', onclick: () => resend([m.msgId]) },
          'Re-send') },
      ], messages, { empty: d.exists ? 'The dead-letter queue is empty.' : `Group ${group} has no dead letters.`,
        testid: 'dlq-messages' }));
      resendSelected.disabled = true;
    } catch (err) { list.replaceChildren(errorNotice(err)); }
  }
  async function resend(ids) {
    if (ids.length === 0) return;
    try {
      const r = await api('/api/dlq/resend', { method: 'POST', body: { group: groupSelect.value, msgIds: ids } });
      const ok = r.resent.filter(x => !x.error);
      const failed = r.resent.filter(x => x.error);
      const topics = [...new Set(ok.map(x => x.topic))].join(', ');
      if (ok.length) toast(`Re-sent ${ok.length} message${ok.length === 1 ? '' : 's'} to ${topics}`);
      for (const f of failed) toast(`${f.msgId}: ${f.error}`, 'error');
    } catch (err) { toast(err.message, 'error'); }
  }
  groupSelect.addEventListener('change', load);
  loadGroups();
}

// ---------- router ----------

function route() {
  leave();
  const main = document.getElementById('main');
  main.replaceChildren();
  const hash = location.hash.replace(/^#/, '') || '/cluster';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const name = parts[0] || 'cluster';
  document.querySelectorAll('#nav a').forEach(a => a.classList.toggle('active', a.dataset.page === name));
  if (name === 'topics' && parts[1]) topicDetailPage(main, parts[1]);
  else if (name === 'topics') topicsPage(main);
  else if (name === 'groups' && parts[1]) groupDetailPage(main, parts[1]);
  else if (name === 'groups') groupsPage(main);
  else if (name === 'messages') messagesPage(main, params);
  else if (name === 'dlq') dlqPage(main, params);
  else clusterPage(main);
  document.title = `${document.querySelector('#main h1')?.textContent || 'Cluster'} · Thruster Dashboard`;
}

window.addEventListener('hashchange', route);
route();
