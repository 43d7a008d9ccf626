// rtsa dashboard: plain JS, no build step. Keeps the windows, states and per-minute
// totals of the last 30 minutes in memory, filled by the /live snapshot and kept
// current by its updates, and redraws at most once per animation frame.
/* global uPlot */
import { ensureChart, showEmpty } from './charts.js'
import { getJson, RESOLUTION_TEXT, rangePicker, timeAxis } from './history.js'
import { MINUTES, startLive } from './live.js'

const TOP_SERIES = 5
const COLORS = ['#4cc9f0', '#f72585', '#ffd166', '#06d6a0', '#b388ff', '#ff8c42']

const store = {
  windows: new Map(), // `${window_start}|${stream_id}` -> row
  states: new Map(), // stream_id -> row
  totals: new Map(), // window_start -> row
  pipeline: null,
  serverOffsetMs: 0, // server clock - browser clock
  lastUpdateAt: 0,
}

const $ = (id) => document.getElementById(id)
const nf = new Intl.NumberFormat('en-US')
const nf1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 })
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' })

// ---------- data ----------

function clockSkew(serverIso) {
  if (serverIso) store.serverOffsetMs = Date.parse(serverIso) - Date.now()
}

// An update read before a (re)connect's snapshot can arrive after it: never let an
// older row replace a newer one (ISO-8601 UTC strings compare in time order).
function newer(cur, next) {
  return !cur || next.updated_at >= cur.updated_at
}

function upsertWindows(rows) {
  for (const w of rows) {
    const k = `${w.window_start}|${w.stream_id}`
    if (newer(store.windows.get(k), w)) store.windows.set(k, w)
  }
}

function upsertStates(rows) {
  for (const st of rows) if (newer(store.states.get(st.stream_id), st)) store.states.set(st.stream_id, st)
}

function upsertTotals(rows, asOf) {
  for (const t of rows) {
    const cur = store.totals.get(t.window_start)
    if (!cur || asOf >= cur.as_of) store.totals.set(t.window_start, { ...t, as_of: asOf })
  }
}

function applySnapshot(s) {
  clockSkew(s.server_time_utc)
  store.windows.clear()
  store.states.clear()
  store.totals.clear()
  upsertWindows(s.windows)
  upsertStates(s.states)
  upsertTotals(s.totals, s.server_time_utc)
  store.pipeline = s.pipeline
  store.lastUpdateAt = Date.now()
  schedule()
}

function applyUpdate(u) {
  clockSkew(u.server_time_utc)
  upsertWindows(u.windows)
  // Provisional windows the processor deleted: keep only the ones the server still had
  // when it read this update (rows written after that read are not judged by it).
  for (const [id, starts] of Object.entries(u.provisional || {})) {
    const keep = new Set(starts)
    for (const [k, w] of store.windows) {
      const judged = w.updated_at <= u.server_time_utc
      if (w.stream_id === id && !w.is_final && judged && !keep.has(w.window_start)) store.windows.delete(k)
    }
  }
  upsertStates(u.states)
  upsertTotals(u.totals, u.server_time_utc)
  store.pipeline = u.pipeline
  store.lastUpdateAt = Date.now()
  prune()
  schedule()
}

function applyPipeline(p) {
  clockSkew(p.server_time_utc)
  store.pipeline = p
  schedule()
}

function serverNow() {
  return Date.now() + store.serverOffsetMs
}

function prune() {
  const cutoff = serverNow() - (MINUTES + 2) * 60_000
  for (const [k, w] of store.windows) if (Date.parse(w.window_start) < cutoff) store.windows.delete(k)
  for (const [k] of store.totals) if (Date.parse(k) < cutoff) store.totals.delete(k)
}

// ---------- rendering ----------

let frame = 0
function schedule() {
  if (!frame) frame = requestAnimationFrame(render)
}

function render() {
  frame = 0
  const top = topStreams()
  renderKpis()
  renderViewers(top)
  renderTotals()
  renderTable(top)
  renderPipeline()
}

/** Streams ordered by viewers as of their last event (state), newest window as fallback. */
function topStreams() {
  const latest = new Map()
  for (const w of store.windows.values()) {
    const cur = latest.get(w.stream_id)
    if (!cur || w.window_start > cur.window_start) latest.set(w.stream_id, w)
  }
  const ids = new Set([...store.states.keys(), ...latest.keys()])
  return [...ids]
    .map((id) => {
      const st = store.states.get(id)
      const w = latest.get(id)
      return { id, viewers: st ? st.active_viewers : w ? w.active_viewers : 0, state: st, latest: w }
    })
    .sort((a, b) => b.viewers - a.viewers || a.id.localeCompare(b.id))
}

function minuteAxis() {
  const now = serverNow()
  const last = Math.floor(now / 60_000) * 60_000
  const xs = []
  for (let t = last - (MINUTES - 1) * 60_000; t <= last; t += 60_000) xs.push(t)
  return xs
}

function renderKpis() {
  let viewers = 0
  let live = 0
  for (const st of store.states.values()) {
    viewers += st.active_viewers
    if (st.live) live += 1
  }
  $('k-viewers').textContent = store.states.size ? nf.format(viewers) : '–'
  $('k-live').textContent = store.states.size ? `${live} / ${store.states.size}` : '–'
  const p = store.pipeline
  $('k-eps').textContent = p && p.events_per_second !== null ? nf1.format(p.events_per_second) : '–'
  // The last complete minute: the current one is still filling.
  const prev = new Date(Math.floor(serverNow() / 60_000) * 60_000 - 60_000).toISOString()
  const t = store.totals.get(prev)
  $('k-chat').textContent = t ? nf.format(t.chat_messages) : store.totals.size ? '0' : '–'
  $('k-money').textContent = t ? usd.format(t.donations_cents / 100) : store.totals.size ? usd.format(0) : '–'
}

function renderViewers(top) {
  const el = $('chart-viewers')
  const streams = top.slice(0, TOP_SERIES).map((s) => s.id)
  if (streams.length === 0)
    return showEmpty(el, 'viewers', 'Waiting for data… (no windows in the last 30 minutes)')
  const xs = minuteAxis()
  const data = [xs.map((t) => t / 1000)]
  for (const id of streams) {
    data.push(
      xs.map((t) => {
        const w = store.windows.get(`${new Date(t).toISOString()}|${id}`)
        return w ? w.active_viewers : null
      }),
    )
  }
  const series = streams.map((id, i) => ({
    label: id,
    stroke: COLORS[i % COLORS.length],
    width: 2,
    points: { show: false },
    spanGaps: false,
  }))
  ensureChart('viewers', el, series, {}).setData(data)
  $('viewers-note').textContent = `top ${streams.length} of ${top.length}`
}

function renderTotals() {
  const xs = minuteAxis()
  const rows = xs.map((t) => store.totals.get(new Date(t).toISOString()))
  const any = rows.some(Boolean)
  const bars = uPlot.paths.bars({ size: [0.7, 40] })
  const chatEl = $('chart-chat')
  const moneyEl = $('chart-money')
  if (!any) {
    showEmpty(chatEl, 'chat', 'Waiting for data…')
    showEmpty(moneyEl, 'money', 'Waiting for data…')
    return
  }
  const x = xs.map((t) => t / 1000)
  ensureChart(
    'chat',
    chatEl,
    [
      {
        label: 'chat',
        stroke: '#4cc9f0',
        fill: 'rgba(76,201,240,0.55)',
        paths: bars,
        points: { show: false },
      },
    ],
    {},
  ).setData([x, rows.map((r) => (r ? r.chat_messages : 0))])
  ensureChart(
    'money',
    moneyEl,
    [
      {
        label: 'USD',
        stroke: '#06d6a0',
        fill: 'rgba(6,214,160,0.55)',
        paths: bars,
        points: { show: false },
        value: (_u, v) => (v === null ? '–' : usd.format(v)),
      },
    ],
    { yAxis: { values: (_u, vals) => vals.map((v) => `$${nf.format(v)}`) } },
  ).setData([x, rows.map((r) => (r ? r.donations_cents / 100 : 0))])
}

function ago(iso) {
  if (!iso) return '–'
  const s = Math.max(0, (serverNow() - Date.parse(iso)) / 1000)
  if (s < 60) return `${Math.round(s)} s ago`
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  return `${nf1.format(s / 3600)} h ago`
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return '–'
  if (seconds < 120) return `${nf1.format(seconds)} s`
  if (seconds < 7200) return `${nf1.format(seconds / 60)} min`
  return `${nf1.format(seconds / 3600)} h`
}

function cell(text, cls) {
  const td = document.createElement('td')
  td.textContent = text
  if (cls) td.className = cls
  return td
}

function renderTable(top) {
  const body = $('top').tBodies[0]
  if (top.length === 0) {
    body.innerHTML =
      '<tr class="empty-row"><td colspan="8">No streams yet. Start the pipeline with <code>npm start</code>.</td></tr>'
    return
  }
  const prevMinute = new Date(Math.floor(serverNow() / 60_000) * 60_000 - 60_000).toISOString()
  const money = new Map()
  for (const w of store.windows.values())
    money.set(w.stream_id, (money.get(w.stream_id) || 0) + w.donations_cents)
  const rows = top.slice(0, 15).map((s, i) => {
    const tr = document.createElement('tr')
    const status = s.state ? s.state.status : 'unknown'
    const last = store.windows.get(`${prevMinute}|${s.id}`)
    const badge = document.createElement('span')
    badge.className = `badge badge-${status}`
    badge.textContent = status
    const statusTd = document.createElement('td')
    statusTd.append(badge)
    const name = cell('', 'stream')
    const link = document.createElement('a')
    link.href = `/streams/${encodeURIComponent(s.id)}`
    link.textContent = s.id
    name.title = s.id
    name.append(link)
    tr.append(
      cell(String(i + 1), 'rank'),
      name,
      statusTd,
      viewersCell(s),
      cell(s.latest ? nf.format(s.latest.peak_viewers) : '–', 'num'),
      cell(last ? nf.format(last.chat_messages) : '0', 'num'),
      cell(usd.format((money.get(s.id) || 0) / 100), 'num'),
      cell(ago(s.state ? s.state.last_event_ts : null), 'num muted'),
    )
    if (s.latest && !s.latest.is_final) tr.classList.add('provisional')
    return tr
  })
  body.replaceChildren(...rows)
}

/** The viewers figure says which instant it describes: the stream's last event, not now. */
function viewersCell(s) {
  const td = cell(nf.format(s.viewers), 'num strong')
  const at = s.state ? s.state.last_event_ts : s.latest ? s.latest.window_start : null
  td.title = at ? `as of the last event, ${ago(at)}` : 'as of the newest window'
  return td
}

function renderPipeline() {
  const p = store.pipeline
  if (!p) return
  $('p-eps').textContent = p.events_per_second === null ? '–' : nf1.format(p.events_per_second)
  $('p-lag').textContent = p.lag === null ? '–' : nf.format(p.lag)
  $('p-wm').textContent = duration(p.watermark_delay_seconds)
  $('p-etd').textContent = duration(p.event_time_delay_seconds)
  $('p-commit').textContent = p.last_commit_at ? ago(p.last_commit_at) : 'none yet'
  $('p-parts').textContent = nf.format(p.partitions)
  $('p-late').textContent = nf.format(p.late)
  $('p-dup').textContent = nf.format(p.duplicate)
  $('p-rej').textContent = nf.format(p.rejected)
  $('p-acc').textContent = nf.format(p.accepted)
  const age = p.last_commit_at ? (serverNow() - Date.parse(p.last_commit_at)) / 1000 : null
  const state = $('p-state')
  if (age === null) {
    state.textContent = 'no commits yet'
    state.className = 'small warn'
  } else if (age > 120) {
    state.textContent = 'processor idle or stalled'
    state.className = 'small warn'
  } else {
    state.textContent = 'processing'
    state.className = 'small ok'
  }
}

// Ages ("12 s ago") and the clock move even when no event arrives.
function tick() {
  $('clock').textContent = `${new Date(serverNow()).toISOString().slice(11, 19)} UTC`
  schedule()
}
setInterval(tick, 1000)
tick()

// ---------- history (all streams, a range the picker chooses) ----------

const historyRange = rangePicker($('history-range'), () => loadHistory())

async function loadHistory() {
  const range = historyRange()
  const el = $('chart-history')
  let t
  try {
    t = await getJson(`/metrics/totals?minutes=${range.minutes}&resolution=auto`)
  } catch (e) {
    $('history-note').textContent = String(e.message || e)
    return
  }
  $('history-note').textContent = `${RESOLUTION_TEXT[t.resolution]}, exact`
  if (t.rows.length === 0) {
    showEmpty(el, 'history', 'No windows in this range.')
    $('history-sums').textContent = ''
    return
  }
  const x = t.rows.map((r) => Date.parse(r.window_start) / 1000)
  ensureChart(
    'history',
    el,
    [{ label: 'viewers at window end', stroke: '#4cc9f0', width: 2, points: { show: false } }],
    { xAxis: timeAxis(t.resolution), signature: t.resolution },
  ).setData([x, t.rows.map((r) => r.active_viewers)])
  const sum = (k) => t.rows.reduce((n, r) => n + r[k], 0)
  $('history-sums').textContent =
    `Over the range: ${nf.format(sum('events'))} events, ${nf.format(sum('viewer_joins'))} joins, ` +
    `${nf.format(sum('chat_messages'))} chat messages, ${usd.format(sum('donations_cents') / 100)} in ` +
    `${nf.format(sum('donation_count'))} donations.`
}
loadHistory()
setInterval(loadHistory, 30_000)

startLive((event, data) => {
  if (event === 'snapshot') applySnapshot(data)
  else if (event === 'update') applyUpdate(data)
  else if (event === 'pipeline') applyPipeline(data)
})
