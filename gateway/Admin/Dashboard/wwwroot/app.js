// The AuditGateway dashboard (docs/dashboard.md). Everything it shows comes from the admin API of the
// gateway that served it, with the token the user typed; values reach the page as text only (dom.js).

import { $, badge, clock, compact, duration, el, micros, replace, svg, utc } from './dom.js';
import { available, consistent, fromBase64, fromHex, inclusionRoot, leafHash, parseNote, toHex } from './merkle.js';
import { ABSENT, ChangeHistory, UNKNOWN } from './patch.js';
import { follow } from './sse.js';

const RATE_SAMPLES = 60;
const ACCESS_ROWS = 200;
const ACCESS_BACKFILL = 500;
const TIMELINE_ITEMS = 500;

/** The live report's name for requests that matched no route. */
const NO_ROUTE = '(no route)';

/** Counts logins and logouts: answers that arrive for an earlier one are dropped. */
let generations = 0;

/** The signed-in session; the token lives here only (memory, never storage, never a URL). */
let state = fresh();

function fresh() {
  generations += 1;
  return {
    token: null,
    session: null,
    name: null,
    role: null,
    generation: generations,
    timers: new Set(),
    streams: new Set(),
    table: null,
    counts: new Map(),
    rates: new Map(),
    report: null,
    lastSeq: null,
    lastOk: null,
    blocks: [],
    confirming: null,
    checkpoint: null,
    checks: [],
    readiness: null,
    history: new ChangeHistory(),
    changesSeq: -1,
    unseen: 0,
    tab: 'overview',
    access: null,
    proof: null,
  };
}

class Stale extends Error {}

class ApiError extends Error {
  constructor(status, text) {
    super(`${status}: ${text.trim()}`);
    this.status = status;
    this.text = text.trim();
  }
}

// ---------------------------------------------------------------- API

function headers() {
  const sent = { Authorization: `Bearer ${state.token}` };
  if (state.session) sent['X-AuditGateway-Session'] = state.session;
  return sent;
}

/** A request to this gateway's admin API with the token in the Authorization header. */
async function api(path, method = 'GET') {
  const generation = state.generation;
  const response = await fetch(path, { method, headers: headers(), cache: 'no-store', credentials: 'omit' });
  if (generation !== state.generation) throw new Stale();
  if (response.status === 401) {
    await refused(response);
    throw new Stale();
  }
  return response;
}

async function getJson(path) {
  const response = await api(path);
  if (!response.ok) throw new ApiError(response.status, await response.text());
  return response.json();
}

async function refused(response) {
  const text = (await response.text()).trim();
  logout(`The gateway refused the token (${text || response.status}). Log in again.`);
}

/** Runs fn now and then every ms milliseconds while this login lasts; a failure shows in the header. */
function every(ms, fn) {
  const generation = state.generation;
  const run = async () => {
    if (generation !== state.generation) return;
    try {
      await fn();
    } catch (error) {
      if (!(error instanceof Stale)) problem(error);
    }
    if (generation === state.generation) {
      const timer = setTimeout(() => {
        state.timers.delete(timer);
        run();
      }, ms);
      state.timers.add(timer);
    }
  };
  run();
}

function problem(error) {
  replace($('#live'), badge('bad', `not updating: ${error.message}`));
}

// ---------------------------------------------------------------- login

async function login(token) {
  replace($('#login-error'));
  let response;
  try {
    response = await fetch('api/session', { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store', credentials: 'omit' });
  } catch (error) {
    replace($('#login-error'), `The gateway cannot be reached: ${error.message}`);
    return;
  }
  if (!response.ok) {
    replace($('#login-error'), `Not logged in: ${(await response.text()).trim() || response.status}`);
    return;
  }
  const who = await response.json();
  state = fresh();
  state.token = token;
  state.session = who.session;
  state.name = who.name;
  state.role = who.role;
  $('#token').value = '';
  start();
}

function logout(message = '') {
  for (const timer of state.timers) clearTimeout(timer);
  for (const controller of state.streams) controller.abort();
  state = fresh();
  for (const node of ['#routes tbody', '#blocks tbody', '#access tbody', '#timeline', '#ingresses', '#brief', '#checkpoint',
    '#checkpoint-note', '#consistency-log', '#consistency-last', '#witness', '#proof-facts', '#proof-entry', '#proof-path',
    '#proof-checks', '#proof-result', '#proof-error', '#access-error', '#blocks-message', '#revision', '#live', '#who',
    '#routes-revision', '#changes-state', '#access-state', '#changes-new', '#blocks-count']) {
    replace($(node));
  }
  $('#proof').hidden = true;
  $('#app').hidden = true;
  $('#logout').hidden = true;
  $('#login').hidden = false;
  replace($('#login-error'), message);
  $('#token').focus();
}

function start() {
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#logout').hidden = false;
  const operator = state.role === 'operator';
  replace($('#who'), el('strong', { text: state.name }), ` · ${state.role}${operator ? '' : ' (read-only)'}`);
  document.body.classList.toggle('operator', operator);
  $('#blocks-readonly').hidden = operator;
  show('overview');
  every(2000, pollRoutes);
  every(1000, pollReport);
  every(2000, pollBlocks);
  every(2000, pollCheckpoint);
  every(5000, pollReadiness);
  loadChanges().catch((error) => {
    if (!(error instanceof Stale)) replace($('#changes-state'), badge('bad', `could not load: ${error.message}`));
  });
}

function show(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll('[role=tab]')) {
    button.setAttribute('aria-selected', String(button.dataset.tab === tab));
  }
  for (const section of document.querySelectorAll('.tab')) section.hidden = section.id !== `tab-${tab}`;
  if (tab === 'changes') {
    state.unseen = 0;
    replace($('#changes-new'));
  }
}

// ---------------------------------------------------------------- routes and live numbers

async function pollRoutes() {
  state.table = await getJson('api/routes');
  replace($('#revision'), 'revision ', el('code', { text: state.table.revision }));
  replace($('#routes-revision'), `${state.table.routes.length} routes · revision ${state.table.revision}`);
  const ids = new Set();
  for (const route of state.table.routes) {
    ids.add(route.id);
    ids.add(`${route.namespace}/${route.ingress}`);
  }
  replace($('#route-ids'), [...ids].map((id) => el('option', { value: id })));
  renderIngresses();
  renderRoutes();
}

async function pollReport() {
  const report = await getJson('api/reports/routes?live=true');
  const now = performance.now();
  const seen = new Set();
  for (const route of report.routes) {
    seen.add(route.route);
    sample(route.route, route.requests, now);
  }
  for (const route of state.table?.routes ?? []) {
    if (!seen.has(route.id)) sample(route.id, 0, now);
  }
  const first = state.report === null;
  state.report = report;
  state.lastSeq = report.source.lastSeq;
  state.lastOk = Date.now();
  replace($('#live'), badge('ok', `live · updated ${utc(new Date())}`));
  renderRoutes();
  if (first) startAccess();
}

function sample(id, requests, now) {
  const previous = state.counts.get(id);
  state.counts.set(id, { requests, at: now });
  if (!previous) return;
  const seconds = (now - previous.at) / 1000;
  const rates = state.rates.get(id) ?? [];
  rates.push(seconds > 0 ? Math.max(0, requests - previous.requests) / seconds : 0);
  if (rates.length > RATE_SAMPLES) rates.shift();
  state.rates.set(id, rates);
}

function renderRoutes() {
  const table = state.table;
  if (!table) return;
  const numbers = new Map((state.report?.routes ?? []).map((r) => [r.route, r]));
  const rows = table.routes.map((route) => routeRow(route, numbers.get(route.id), true));
  if (table.defaultBackend) {
    rows.push(routeRow({ ...table.defaultBackend, host: null, path: '(default backend)', pathType: '' }, numbers.get(table.defaultBackend.id), true));
  }
  const inForce = new Set([...table.routes.map((r) => r.id), table.defaultBackend?.id]);
  for (const [id, route] of numbers) {
    if (id === NO_ROUTE) rows.push(routeRow({ id, host: '', path: '(requests that matched no route)', pathType: '' }, route, true));
    else if (!inForce.has(id)) rows.push(routeRow({ id, host: null, path: '', pathType: '' }, route, false));
  }
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 10, class: 'empty', text: 'No route is in force.' })));
  replace($('#routes tbody'), rows);
}

function routeRow(route, numbers, inForce) {
  const backend = route.backend;
  const statuses = numbers?.statuses ?? {};
  const requests = numbers?.requests ?? 0;
  const errors = (statuses['4xx'] ?? 0) + (statuses['5xx'] ?? 0);
  const rates = state.rates.get(route.id) ?? [];
  const rate = rates.length ? rates[rates.length - 1] : 0;
  return el('tr', { 'data-route': route.id },
    el('td', {},
      el('div', { class: 'strong', text: `${route.host ?? '*'}${route.path}` }, route.pathType ? el('span', { class: 'meta', text: ` ${route.pathType}` }) : null),
      el('div', { class: 'meta id', text: route.id }),
      inForce ? null : badge('warn', 'not in force (traffic since start)')),
    el('td', {},
      backend ? el('div', { text: `${backend.service}:${backend.port} (${backend.protocol})` }) : '—',
      backend?.unavailable ? badge('bad', backend.unavailable)
        : backend ? el('div', { class: 'meta', text: backend.destinations.length ? backend.destinations.join(', ') : 'no destinations' }) : null,
      route.sslRedirect ? el('div', { class: 'meta', text: 'redirects to HTTPS' }) : null),
    el('td', { class: 'policy' }, policyLines(route.policy)),
    el('td', { class: 'num' }, el('div', { class: 'strong', text: rate.toFixed(1) }), sparkline(rates)),
    el('td', { class: 'num', text: String(requests) }),
    el('td', { class: 'num' },
      el('div', { text: requests ? `${errors} · ${Math.round((100 * errors) / requests)} %` : '0' }),
      el('div', { class: 'meta', text: `4xx ${statuses['4xx'] ?? 0} · 5xx ${statuses['5xx'] ?? 0}` })),
    el('td', { class: 'num' },
      el('div', { text: String(numbers?.denied ?? 0) }),
      numbers?.wouldDeny ? el('div', { class: 'meta', text: `would-deny ${numbers.wouldDeny}` }) : null),
    ...['p50', 'p90', 'p99'].map((p) => el('td', { class: 'num', text: numbers?.latency?.count ? micros(numbers.latency[p]) : '—' })));
}

function policyLines(policy) {
  if (!policy || Object.keys(policy).length === 0) return el('span', { class: 'meta', text: 'none' });
  return Object.entries(policy).map(([name, value]) => el('div', {}, el('span', { class: 'meta', text: `${name}: ` }),
    typeof value === 'string' ? value : Array.isArray(value) && value.every((v) => typeof v === 'string') ? value.join(', ') : JSON.stringify(value)));
}

function sparkline(rates) {
  const width = 100;
  const height = 24;
  const peak = Math.max(1, ...rates);
  const step = width / (RATE_SAMPLES - 1);
  const offset = RATE_SAMPLES - rates.length;
  const points = rates.map((r, i) => `${((offset + i) * step).toFixed(1)},${(height - 2 - (r / peak) * (height - 4)).toFixed(1)}`).join(' ');
  return svg('svg', { class: 'spark', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': `requests per second over the last ${rates.length} s, peak ${peak.toFixed(1)}` },
    svg('line', { x1: 0, y1: height - 2, x2: width, y2: height - 2, class: 'axis' }),
    rates.length > 1 ? svg('polyline', { points, class: 'line' }) : null);
}

function renderIngresses() {
  const items = (state.table?.ingresses ?? []).map((report) => {
    const kind = report.status === 'accepted' ? 'ok' : report.status === 'refused' ? 'bad' : 'warn';
    return el('li', {},
      badge(kind, report.status), ' ', el('strong', { text: report.ingress }),
      report.errors.length || report.warnings.length
        ? el('ul', { class: 'plain indent' },
          report.errors.map((e) => el('li', { class: 'error' }, badge('bad', 'error'), ` ${e.field}: ${e.message}`)),
          report.warnings.map((w) => el('li', {}, badge('warn', 'warning'), ` ${w}`)))
        : null);
  });
  replace($('#ingresses'), items.length ? items : el('li', { class: 'meta', text: 'No Ingress is served.' }));
}

// ---------------------------------------------------------------- blocked clients

async function pollBlocks() {
  state.blocks = await getJson('api/blocks');
  renderBlocks();
}

function renderBlocks() {
  const operator = state.role === 'operator';
  replace($('#blocks-count'), `${state.blocks.length} blocked`);
  const now = Date.now();
  const rows = state.blocks.map((block) => el('tr', { 'data-client': block.address },
    el('td', { class: 'strong', text: block.address }),
    el('td', { text: block.detector }),
    el('td', { class: 'wrap', text: block.evidence }),
    el('td', { text: utc(block.blockedAt) }),
    el('td', {}, el('div', { class: 'nowrap', text: `in ${duration((new Date(block.expiresAt).getTime() - now) / 1000)}` }), el('div', { class: 'meta', text: utc(block.expiresAt) })),
    operator ? el('td', {}, unblockControl(block.address)) : null));
  replace($('#blocks tbody'), rows.length ? rows : el('tr', {}, el('td', { colspan: operator ? 6 : 5, class: 'empty', text: 'No client is blocked.' })));
}

function unblockControl(address) {
  if (state.confirming !== address) {
    return el('button', { type: 'button', class: 'unblock', title: `lift the block on ${address}`, onclick: () => { state.confirming = address; renderBlocks(); } }, 'Unblock');
  }
  return el('span', { class: 'confirm' }, `Lift the block on ${address}? `,
    el('button', { type: 'button', class: 'danger', onclick: () => unblock(address) }, 'Yes, unblock'), ' ',
    el('button', { type: 'button', onclick: () => { state.confirming = null; renderBlocks(); } }, 'Cancel'));
}

async function unblock(address) {
  state.confirming = null;
  try {
    const response = await api(`api/blocks/${encodeURIComponent(address)}`, 'DELETE');
    const text = (await response.text()).trim();
    if (response.status === 204) replace($('#blocks-message'), badge('ok', `${address} unblocked; the log records it as done by admin:${state.name}`));
    else if (response.status === 404) replace($('#blocks-message'), badge('info', `${address} was no longer blocked`));
    else replace($('#blocks-message'), badge('bad', `not unblocked: ${text || response.status}`));
  } catch (error) {
    if (!(error instanceof Stale)) replace($('#blocks-message'), badge('bad', `not unblocked: ${error.message}`));
  }
  await pollBlocks().catch(() => {});
}

// ---------------------------------------------------------------- integrity

async function pollCheckpoint() {
  const response = await api('api/checkpoint');
  if (response.status === 404) {
    state.checkpoint = null;
  } else if (!response.ok) {
    throw new ApiError(response.status, await response.text());
  } else {
    const latest = await response.json();
    const previous = state.checkpoint;
    if (!previous || previous.size !== latest.size || previous.rootHex !== latest.rootHex) {
      state.checkpoint = { ...latest, seenAt: Date.now() };
      if (previous) await checkConsistency(previous, state.checkpoint);
    }
  }
  renderIntegrity();
}

/** Checks, in this browser, that the checkpoint seen before is a prefix of the new one (RFC 9162 consistency). */
async function checkConsistency(before, after) {
  let result;
  if (!available()) {
    result = { ok: null, reason: 'not checked: Web Crypto is only offered on HTTPS or localhost pages' };
  } else if (after.size < before.size) {
    result = { ok: false, reason: `the log shrank from ${before.size} to ${after.size} entries` };
  } else {
    try {
      const proof = await getJson(`api/proof/consistency?from=${before.size}&to=${after.size}`);
      result = proof.size1 !== before.size || proof.size2 !== after.size
        ? { ok: false, reason: `the proof is for sizes ${proof.size1} → ${proof.size2}` }
        : await consistent(before.size, fromHex(before.rootHex), after.size, fromHex(after.rootHex), proof.proof.map(fromHex));
    } catch (error) {
      if (error instanceof Stale) throw error;
      result = { ok: false, reason: `no proof: ${error.message}` };
    }
  }
  state.checks.unshift({ ...result, from: before.size, to: after.size, at: new Date() });
  state.checks.length = Math.min(state.checks.length, 20);
}

async function pollReadiness() {
  const response = await fetch('readyz', { cache: 'no-store', credentials: 'omit' });
  state.readiness = await response.json();
  renderIntegrity();
  if (state.readiness.redis && !state.replicaCounts) {
    // With Redis, every replica's live numbers and (with redis.streamEntries) its entries.
    state.replicaCounts = new Map();
    $('#replicas-panel').hidden = false;
    $('#access-replicas').hidden = false;
    every(1000, pollReplicas);
  }
}

async function pollReplicas() {
  const live = await getJson('api/replicas/live');
  if (live.unavailable) {
    // Redis is down or slow: the last numbers stay, marked as such, until it answers again.
    replace($('#replicas-meta'), `not updated: ${live.unavailable}`);
    return;
  }
  const now = performance.now();
  const rows = [];
  let total = 0;
  for (const replica of live.replicas) {
    for (const route of replica.report.routes) {
      const key = `${replica.node}|${route.route}`;
      const previous = state.replicaCounts.get(key);
      const rate = previous && now > previous.at ? Math.max(0, route.requests - previous.requests) / ((now - previous.at) / 1000) : 0;
      state.replicaCounts.set(key, { requests: route.requests, at: now });
      total += route.requests;
      const statuses = route.statuses ?? {};
      const errors = (statuses['4xx'] ?? 0) + (statuses['5xx'] ?? 0);
      rows.push(el('tr', { 'data-replica': replica.node, 'data-replica-route': route.route },
        el('td', { class: 'strong', text: replica.node }),
        el('td', { class: 'meta id', text: route.route }),
        el('td', { class: 'num', text: rate.toFixed(1) }),
        el('td', { class: 'num', text: String(route.requests) }),
        el('td', { class: 'num', text: route.requests ? `${errors} · ${Math.round((100 * errors) / route.requests)} %` : '0' }),
        el('td', { class: 'num', text: String(route.denied ?? 0) }),
        ...['p50', 'p99'].map((p) => el('td', { class: 'num', text: route.latency?.count ? micros(route.latency[p]) : '—' }))));
    }
  }
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: 8, class: 'empty', text: 'No replica has published numbers yet.' })));
  replace($('#replicas tbody'), rows);
  replace($('#replicas-meta'), `${live.replicas.length} replicas · ${total} requests since their starts`);
}

function checkWord(check) {
  return check.ok === true ? badge('ok', 'consistent') : check.ok === false ? badge('bad', 'NOT consistent') : badge('warn', 'not checked');
}

function renderIntegrity() {
  const c = state.checkpoint;
  const facts = [];
  const brief = [];
  if (!c) {
    facts.push(['checkpoint', 'none signed yet']);
    brief.push(['checkpoint', 'none signed yet']);
  } else {
    let noteAgrees;
    try {
      const note = parseNote(c.note);
      noteAgrees = note.size === c.size && toHex(note.root) === c.rootHex && toHex(fromBase64(c.root)) === c.rootHex;
    } catch {
      noteAgrees = false;
    }
    const after = state.lastSeq === null ? null : Math.max(0, state.lastSeq + 1 - c.size);
    const age = `unchanged for ${duration((Date.now() - c.seenAt) / 1000)} (first seen by this page ${utc(new Date(c.seenAt))})`;
    facts.push(['origin', c.origin], ['tree size', `${c.size} entries (seq 0 to ${c.size - 1})`], ['root (hex)', el('code', { class: 'hash', text: c.rootHex })],
      ['root (base64)', el('code', { class: 'hash', text: c.root })], ['age', age],
      ['not yet covered', after === null ? '—' : `${after} newer entries (chained, awaiting the next checkpoint)`],
      ['note', noteAgrees ? badge('ok', 'size and root agree with the signed text') : badge('bad', 'the signed text does not match')]);
    brief.push(['checkpoint', `size ${c.size} · root ${c.rootHex.slice(0, 16)}…`], ['age', age]);
  }
  replace($('#checkpoint'), facts.map(fact));
  replace($('#checkpoint-note'), c?.note ?? '');

  const last = state.checks[0];
  // Nodes can have one parent: each place gets its own copy.
  const lastText = () => (last
    ? [checkWord(last), ` ${last.from} → ${last.to}: ${last.reason} · checked ${utc(last.at)}`]
    : [badge('info', 'waiting'), ' for the next checkpoint: each new one is checked against the one this page saw before']);
  replace($('#consistency-last'), lastText());
  replace($('#consistency-log'), state.checks.map((check) => el('li', {}, checkWord(check), ` ${check.from} → ${check.to} · ${utc(check.at)} · ${check.reason}`)));
  brief.push(['last verification', last ? el('span', {}, lastText()) : 'none yet (waiting for a new checkpoint)']);

  const ready = state.readiness;
  const witness = [];
  if (ready) {
    witness.push(['ready', ready.ready ? badge('ok', 'ready') : badge('bad', 'not ready')],
      ['log', ready.logWritable ? badge('ok', 'writable') : badge('bad', `not writable: ${ready.logProblem ?? ''}`)]);
    for (const warning of ready.warnings ?? []) witness.push(['warning', badge('warn', warning)]);
    const redis = ready.redis;
    const line = () => (redis
      ? [redis.up ? badge('ok', 'Redis up') : badge('bad', `Redis down since ${utc(redis.downSince)}: ${redis.reason ?? ''}`),
        ` ${redis.url} · ${redis.replicas} replicas · `,
        redis.witness
          ? (redis.witness.agrees
            ? [badge('ok', 'witness agrees'), ` at size ${redis.witness.size} (read back ${utc(redis.witness.checkedAt)})`]
            : [badge('bad', 'witness disagrees'), ` ${redis.witness.problem ?? ''}`])
          : [badge('info', 'witness'), ' nothing published yet']]
      : [badge('info', 'no witness'), ' (Redis not configured)']);
    witness.push(['witness', el('span', { 'data-slot': 'witness' }, line())]);
    brief.push(['witness', el('span', {}, line())]);
  }
  replace($('#witness'), witness.map(fact));
  replace($('#brief'), brief.map(fact));
}

function fact([name, value]) {
  return [el('dt', { text: name }), el('dd', {}, value)];
}

// ---------------------------------------------------------------- config change timeline

async function loadChanges() {
  replace($('#changes-state'), badge('wait', 'loading the verified history'));
  let cursor = null;
  let verified = null;
  do {
    const page = await getJson(`api/changes?limit=10000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    for (const change of page.changes) addChange(change, false);
    cursor = page.nextCursor;
    verified = page.verifiedAgainst;
  } while (cursor);
  const how = `history verified by the gateway (${verified.how}, tree size ${verified.treeSize})`;
  const controller = new AbortController();
  state.streams.add(controller);
  follow('api/log/stream?kind=config', {
    headers,
    lastEventId: Math.max(0, verified.treeSize - 1),
    signal: controller.signal,
    onEvent: (event) => {
      const entry = JSON.parse(event.data);
      if (entry.kind === 'config') addChange({ seq: entry.seq, ts: entry.ts, ...entry.config }, true);
    },
    onState: (what, detail) => replace($('#changes-state'), what === 'open' ? badge('ok', `live · ${how}`) : badge('warn', `reconnecting: ${detail}`)),
    onRefused: refused,
  });
}

function addChange(change, live) {
  if (change.seq <= state.changesSeq) return;
  state.changesSeq = change.seq;
  const rows = state.history.apply(change);
  const item = changeItem(change, rows);
  if (live) item.classList.add('fresh');
  const list = $('#timeline');
  list.prepend(item);
  while (list.children.length > TIMELINE_ITEMS) list.lastElementChild.remove();
  if (live && state.tab !== 'changes') {
    state.unseen += 1;
    replace($('#changes-new'), `${state.unseen} new`);
  }
}

function changeItem(change, rows) {
  const object = change.object ?? {};
  const actor = change.actor ?? {};
  const effect = change.effect ?? { added: [], removed: [], changed: [] };
  const refused = (change.errors ?? []).length > 0;
  const target = `${object.kind ?? '?'} ${object.namespace ? `${object.namespace}/` : ''}${object.name ?? '?'}`;
  const effects = [
    ...effect.added.map((id) => el('li', {}, badge('ok', 'added'), ` ${id}`)),
    ...effect.removed.map((id) => el('li', {}, badge('bad', 'removed'), ` ${id}`)),
    ...effect.changed.map((id) => el('li', {}, badge('warn', 'changed'), ` ${id}`)),
  ];
  const details = [
    actor.groups?.length ? `groups ${actor.groups.join(', ')}` : null,
    actor.sourceIps?.length ? `from ${actor.sourceIps.join(', ')}` : null,
    actor.userAgent ? `user agent ${actor.userAgent}` : null,
  ].filter(Boolean);
  return el('li', { class: 'change', 'data-seq': change.seq },
    el('div', { class: 'head' },
      el('span', { class: 'seq', text: `seq ${change.seq}` }), ' ',
      el('span', { class: 'meta', text: utc(change.ts) }), ' ',
      el('strong', { text: `${change.operation} ${target}` }), ' ',
      refused ? badge('bad', 'refused') : badge('ok', 'applied'), ' ',
      el('button', { type: 'button', class: 'link', onclick: () => openProof(change.seq) }, 'inclusion proof')),
    el('div', {}, 'by ', el('strong', { text: actor.username ?? 'unknown' }), ` via ${actor.via ?? '?'} · source ${change.source ?? '?'}`,
      details.length ? el('span', { class: 'meta', text: ` · ${details.join(' · ')}` }) : null),
    change.file ? el('div', { class: 'meta', text: `file ${change.file.path} (sha256 ${String(change.file.sha256).slice(0, 16)}…)` }) : null,
    el('div', { class: 'meta', text: `revision ${change.revisionBefore} → ${change.revisionAfter}` }),
    refused ? el('ul', { class: 'plain' }, change.errors.map((e) => el('li', { class: 'error' }, badge('bad', 'error'), ` ${e}`))) : null,
    el('div', {}, el('span', { class: 'label', text: 'effect: ' }), effects.length ? el('ul', { class: 'plain inline' }, effects) : 'no route changed'),
    diffTable(rows));
}

function diffTable(rows) {
  if (rows.length === 0) return el('p', { class: 'meta', text: 'no difference in labels, annotations or spec' });
  return el('table', { class: 'diff' },
    el('thead', {}, el('tr', {}, el('th', { text: 'op' }), el('th', { text: 'path' }), el('th', { text: 'old' }), el('th', { text: 'new' }))),
    el('tbody', {}, rows.map((row) => el('tr', { class: `op-${row.op}` },
      el('td', {}, badge(row.op === 'add' ? 'ok' : row.op === 'remove' ? 'bad' : 'warn', row.op)),
      el('td', {}, el('code', { text: row.path })),
      el('td', {}, value(row.old)),
      el('td', {}, row.op === 'remove' ? el('span', { class: 'meta', text: '(removed)' }) : value(row.value))))));
}

function value(v) {
  if (v === UNKNOWN) return el('span', { class: 'meta', text: '(not in the history shown)' });
  if (v === ABSENT) return el('span', { class: 'meta', text: '(absent)' });
  const text = compact(v);
  if (text.length <= 160) return el('code', { class: 'value', text });
  return el('details', {}, el('summary', { text: `${text.slice(0, 100)}…` }), el('pre', { class: 'value', text: JSON.stringify(v, null, 2) }));
}

// ---------------------------------------------------------------- access stream

function startAccess() {
  state.access?.abort();
  state.streams.delete(state.access);
  const form = new FormData($('#access-filters'));
  const query = new URLSearchParams({ kind: 'request' });
  for (const name of ['route', 'identity', 'client', 'status', 'decision']) {
    const text = String(form.get(name) ?? '').trim();
    if (text) query.set(name, text);
  }
  const everyReplica = form.get('replicas') === 'all';
  if (everyReplica) query.set('replicas', 'all');
  state.accessAll = everyReplica;
  const controller = new AbortController();
  state.access = controller;
  state.streams.add(controller);
  replace($('#access tbody'));
  replace($('#access-error'));
  const filters = [...query].filter(([name]) => name !== 'kind').map(([n, v]) => `${n}=${v}`).join(', ') || 'no filter';
  // Every replica's stream starts now (its ids are node:seq, not resumable); this replica's backfills.
  const from = everyReplica || state.lastSeq === null ? null : Math.max(0, state.lastSeq - ACCESS_BACKFILL);
  follow(`api/log/stream?${query}`, {
    headers,
    lastEventId: from,
    signal: controller.signal,
    onEvent: (event) => addAccessRow(JSON.parse(event.data)),
    onState: (what, detail) => {
      if (what === 'open') replace($('#access-state'), badge('ok', `live · ${filters}`));
      else if (detail.startsWith('400')) {
        controller.abort();
        replace($('#access-state'), badge('bad', 'stopped'));
        replace($('#access-error'), `The filter was refused: ${detail}`);
      } else replace($('#access-state'), badge('warn', `reconnecting: ${detail}`));
    },
    onRefused: refused,
  });
}

function statusBadge(status) {
  if (status >= 500) return badge('bad', `${status} server error`);
  if (status >= 400) return badge('warn', `${status} client error`);
  if (status >= 300) return badge('info', `${status} redirect`);
  return badge('ok', `${status}`);
}

function decisionBadge(decision) {
  const word = decision?.decision ?? '?';
  return badge(word === 'allow' ? 'ok' : word === 'deny' ? 'bad' : 'warn', word);
}

function addAccessRow(entry) {
  const r = entry.request;
  if (!r) return;
  const identity = r.identity?.subject ?? r.identity?.clientId ?? null;
  const target = `${r.method} ${r.host}${r.path}${r.query ? `?${r.query}` : ''}`;
  const row = el('tr', { 'data-seq': entry.seq },
    el('td', { class: 'num clip', title: `${entry.node} seq ${entry.seq}` },
      el('div', { text: String(entry.seq) }), state.accessAll ? el('div', { class: 'meta', 'data-node': entry.node, text: entry.node }) : null),
    el('td', { title: utc(entry.ts), text: clock(entry.ts) }),
    el('td', { class: 'clip', title: r.client?.ip ?? '', text: r.client?.ip ?? '—' }),
    el('td', { class: 'clip request', title: target, text: target }),
    el('td', {}, statusBadge(r.status)),
    el('td', { title: `${r.decision?.rule ?? ''}${r.decision?.reason ? ` — ${r.decision.reason}` : ''}` }, decisionBadge(r.decision)),
    el('td', { class: 'clip', title: r.route?.id ?? 'no route', text: r.route ? `${r.route.namespace}/${r.route.ingress} ${r.route.path ?? ''}` : '(no route)' }),
    el('td', { class: 'clip', title: identity ?? 'anonymous', text: identity ?? '(anonymous)' }),
    el('td', { class: 'num', text: micros(r.latencyUs) }),
    el('td', { class: 'clip', title: r.userAgent ?? '', text: r.userAgent ?? '—' }),
    // Another replica's entry is proven by that replica's own admin API (its own tree): no button here.
    el('td', {}, state.accessAll ? null : el('button', { type: 'button', class: 'link', title: `inclusion proof of seq ${entry.seq}`, onclick: () => openProof(entry.seq) }, 'proof')));
  const body = $('#access tbody');
  body.prepend(row);
  while (body.children.length > ACCESS_ROWS) body.lastElementChild.remove();
}

// ---------------------------------------------------------------- inclusion proof

function openProof(seq) {
  show('integrity');
  $('#proof-form').elements.seq.value = String(seq);
  getProof(seq);
  $('#proof-panel').scrollIntoView({ block: 'start' });
}

async function getProof(seq) {
  replace($('#proof-error'));
  $('#proof').hidden = true;
  state.proof = null;
  let response;
  try {
    // Against the checkpoint this page holds (and checks for consistency) when it covers the entry; else the latest.
    const held = state.checkpoint;
    response = await api(`api/proof/inclusion?seq=${seq}${held && seq < held.size ? `&size=${held.size}` : ''}`);
  } catch (error) {
    if (!(error instanceof Stale)) replace($('#proof-error'), error.message);
    return;
  }
  if (!response.ok) {
    const text = (await response.text()).trim();
    const later = /not in a tree of size/.test(text) ? ' — this entry is newer than the latest signed checkpoint; try again after the next one.' : '';
    replace($('#proof-error'), `${text}${later}`);
    return;
  }
  const proof = await response.json();
  state.proof = proof;
  replace($('#proof-facts'), [
    ['leaf index (seq)', String(proof.leafIndex)],
    ['tree size', String(proof.treeSize)],
    ['leaf hash', el('code', { class: 'hash', text: proof.leafHash })],
    ['root hash', el('code', { class: 'hash', text: proof.rootHash })],
    ['signed checkpoint', proof.checkpoint ? 'included (the note of exactly this size)' : 'none at exactly this size'],
  ].map(fact));
  replace($('#proof-entry'), proof.entry);
  replace($('#proof-path'), proof.proof.map((h) => el('li', {}, el('code', { class: 'hash', text: h }))));
  replace($('#proof-result'), badge('info', 'not verified yet'), ' — press the button to check it in this browser');
  replace($('#proof-checks'));
  $('#proof').hidden = false;
}

async function verifyProof() {
  const proof = state.proof;
  if (!proof) return;
  if (!available()) {
    replace($('#proof-result'), badge('warn', 'cannot verify here'), ' Web Crypto is only offered on HTTPS or localhost pages; use auditgw proof inclusion and the Python check in docs/audit-log.md.');
    return;
  }
  const checks = [];
  let ok = true;
  const check = (passed, text, required = true) => {
    checks.push(el('li', {}, passed ? badge('ok', 'pass') : required ? badge('bad', 'FAIL') : badge('info', 'note'), ` ${text}`));
    if (required && !passed) ok = false;
  };
  try {
    const leaf = await leafHash(proof.entry);
    check(toHex(leaf) === proof.leafHash, `SHA-256(0x00 ‖ entry line) = leaf hash ${toHex(leaf).slice(0, 16)}…`);
    let seq = null;
    try {
      seq = JSON.parse(proof.entry).seq;
    } catch {
      // Checked just below.
    }
    check(seq === proof.leafIndex, `the entry's seq (${seq}) is the leaf index ${proof.leafIndex}`);
    const root = toHex(await inclusionRoot(proof.leafIndex, proof.treeSize, leaf, proof.proof.map(fromHex)));
    check(root === proof.rootHash, `the audit path (${proof.proof.length} hashes) leads to the root ${root.slice(0, 16)}…`);
    // The root must be that of a signed checkpoint: the one that came with the proof, or the one this page holds.
    const held = state.checkpoint;
    const holds = held?.size === proof.treeSize;
    if (proof.checkpoint) {
      const note = parseNote(proof.checkpoint);
      check(note.size === proof.treeSize && toHex(note.root) === root, `the signed checkpoint of size ${note.size} that came with the proof has that root`);
    } else {
      check(false, `no signed checkpoint of size ${proof.treeSize} came with the proof`, !holds);
    }
    if (holds) check(held.rootHex === root, `the checkpoint this page holds (size ${held.size}) has that root`);
    else check(true, `this page holds the checkpoint of size ${held?.size ?? '—'}; its consistency with others is checked above`, false);
  } catch (error) {
    check(false, error.message);
  }
  replace($('#proof-result'), ok
    ? [badge('ok', 'verified'), ` entry ${proof.leafIndex} is in the signed tree of size ${proof.treeSize} (checked in this browser with Web Crypto SHA-256)`]
    : [badge('bad', 'NOT verified'), ' the proof does not check out: see below']);
  replace($('#proof-checks'), checks);
}

// ---------------------------------------------------------------- wiring

$('#login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('#token').value.trim();
  if (token) login(token);
});
$('#logout').addEventListener('click', () => logout('Logged out: the token is forgotten.'));
for (const button of document.querySelectorAll('[role=tab]')) button.addEventListener('click', () => show(button.dataset.tab));
$('#access-filters').addEventListener('submit', (event) => {
  event.preventDefault();
  startAccess();
});
$('#access-filters').addEventListener('reset', () => setTimeout(startAccess, 0));
$('#proof-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const seq = $('#proof-form').elements.seq.value.trim();
  if (/^[0-9]+$/.test(seq)) getProof(Number(seq));
});
$('#proof-verify').addEventListener('click', () => verifyProof());
$('#token').focus();
