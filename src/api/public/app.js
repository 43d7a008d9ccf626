// rtsa dashboard: plain JS, no build step. Keeps the windows, states and per-minute
// totals of the last 30 minutes in memory, filled by the /live snapshot and kept
// current by its updates, and redraws at most once per animation frame.
/* global uPlot */

const MINUTES = 30
const TOP_SERIES = 5
const COLORS = ['#4cc9f0', '#f72585', '#ffd166', '#06d6a0', '#b388ff', '#ff8c42']
const TOKEN_KEY = 'rtsa.token'

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

// ---------- connection ----------

let token = localStorage.getItem(TOKEN_KEY) || ''
let source = null
let fetchAbort = null
let retryTimer = null

function setConn(kind, text) {
  const el = $('conn')
  el.className = `pill pill-${kind}`
  el.textContent = text
  document.body.dataset.conn = kind
}

function banner(text) {
  const el = $('banner')
  el.hidden = !text
  el.textContent = text || ''
}

function handle(event, data) {
  if (event === 'snapshot') applySnapshot(data)
  else if (event === 'update') applyUpdate(data)
  else if (event === 'pipeline') applyPipeline(data)
  else if (event === 'status') {
    if (data.database_ok) banner('')
    else banner(`The API cannot read the database: ${data.error}. Showing the last known figures.`)
    setConn(data.database_ok ? 'ok' : 'warn', data.database_ok ? 'live' : 'database down')
  }
}

async function connect() {
  clearTimeout(retryTimer)
  // Find out first whether the API wants a token (EventSource cannot send headers).
  let probe
  try {
    probe = await fetch('/state?limit=1', { headers: authHeaders() })
  } catch {
    return disconnected('Cannot reach the API. Retrying…')
  }
  if (probe.status === 401) {
    setConn('warn', 'token needed')
    $('token-form').hidden = false
    return
  }
  $('token-form').hidden = true
  if (token) streamWithFetch()
  else streamWithEventSource()
}

function authHeaders() {
  return token ? { authorization: `Bearer ${token}` } : {}
}

function disconnected(text) {
  setConn('down', 'disconnected')
  banner(text)
  retryTimer = setTimeout(connect, 3000)
}

function streamWithEventSource() {
  if (source) source.close()
  source = new EventSource(`/live?minutes=${MINUTES}`)
  source.onopen = () => {
    setConn('ok', 'live')
    banner('')
  }
  for (const name of ['snapshot', 'update', 'pipeline', 'status']) {
    source.addEventListener(name, (e) => handle(name, JSON.parse(e.data)))
  }
  source.onerror = () => {
    // EventSource reconnects by itself (and gets a fresh snapshot); a closed one gave up.
    if (source.readyState === EventSource.CLOSED) {
      source = null
      disconnected('The live feed closed. Reconnecting…')
    } else {
      setConn('wait', 'reconnecting…')
    }
  }
}

// With a token: the same SSE protocol read through fetch, which can send headers.
async function streamWithFetch() {
  if (fetchAbort) fetchAbort.abort()
  fetchAbort = new AbortController()
  let res
  try {
    res = await fetch(`/live?minutes=${MINUTES}`, { headers: authHeaders(), signal: fetchAbort.signal })
  } catch {
    return disconnected('Cannot reach the API. Retrying…')
  }
  if (res.status === 401) {
    token = ''
    localStorage.removeItem(TOKEN_KEY)
    return connect()
  }
  if (!res.ok || !res.body) return disconnected(`The live feed answered ${res.status}. Retrying…`)
  setConn('ok', 'live')
  banner('')
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffer += value
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        let name = 'message'
        let data = ''
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) name = line.slice(7)
          else if (line.startsWith('data: ')) data += line.slice(6)
        }
        if (data) handle(name, JSON.parse(data))
        end = buffer.indexOf('\n\n')
      }
    }
  } catch {
    // the connection dropped
  }
  disconnected('The live feed closed. Reconnecting…')
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault()
  token = $('token-input').value.trim()
  localStorage.setItem(TOKEN_KEY, token)
  connect()
})

// ---------- data ----------

function clockSkew(serverIso) {
  if (serverIso) store.serverOffsetMs = Date.parse(serverIso) - Date.now()
}

function upsertWindows(rows) {
  for (const w of rows) store.windows.set(`${w.window_start}|${w.stream_id}`, w)
}

function applySnapshot(s) {
  clockSkew(s.server_time_utc)
  store.windows.clear()
  store.states.clear()
  store.totals.clear()
  upsertWindows(s.windows)
  for (const st of s.states) store.states.set(st.stream_id, st)
  for (const t of s.totals) store.totals.set(t.window_start, t)
  store.pipeline = s.pipeline
  store.lastUpdateAt = Date.now()
  schedule()
}

function applyUpdate(u) {
  clockSkew(u.server_time_utc)
  upsertWindows(u.windows)
  // Provisional windows the processor deleted: keep only the ones the server still has.
  for (const [id, starts] of Object.entries(u.provisional || {})) {
    const keep = new Set(starts)
    for (const [k, w] of store.windows) {
      if (w.stream_id === id && !w.is_final && !keep.has(w.window_start)) store.windows.delete(k)
    }
  }
  for (const st of u.states) store.states.set(st.stream_id, st)
  for (const t of u.totals) store.totals.set(t.window_start, t)
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

/** Streams ordered by viewers now (state), newest window as fallback. */
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

const charts = {}

function chartSize(el) {
  const w = Math.max(240, el.clientWidth)
  const tall = el.dataset.tall !== undefined && w >= 600
  return { width: w, height: w < 500 ? 180 : tall ? 300 : 220 }
}

const hhmm = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false })

function axisStyle() {
  return {
    stroke: '#8b95a7',
    grid: { stroke: 'rgba(139,149,167,0.12)', width: 1 },
    ticks: { stroke: 'rgba(139,149,167,0.25)', width: 1 },
    font: '11px system-ui, sans-serif',
  }
}

function ensureChart(key, el, series, opts) {
  const signature = series.map((s) => s.label).join('|')
  let c = charts[key]
  if (c && c.signature !== signature) {
    c.plot.destroy()
    c = null
  }
  if (!c) {
    el.querySelector('.empty')?.remove()
    const plot = new uPlot(
      {
        ...chartSize(el),
        series: [{}, ...series],
        axes: [
          { ...axisStyle(), values: (_u, splits) => splits.map((s) => hhmm.format(new Date(s * 1000))) },
          { ...axisStyle(), size: 56, ...(opts.yAxis || {}) },
        ],
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      },
      [[]],
      el,
    )
    c = { plot, signature }
    charts[key] = c
  }
  return c.plot
}

function showEmpty(el, key, text) {
  if (charts[key]) {
    charts[key].plot.destroy()
    delete charts[key]
  }
  let empty = el.querySelector('.empty')
  if (!empty) {
    empty = document.createElement('div')
    empty.className = 'empty'
    el.append(empty)
  }
  empty.textContent = text
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
    const name = cell(s.id, 'stream')
    name.title = s.id
    tr.append(
      cell(String(i + 1), 'rank'),
      name,
      statusTd,
      cell(nf.format(s.viewers), 'num strong'),
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

let resizeTimer = 0
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer)
  resizeTimer = setTimeout(() => {
    for (const [key, c] of Object.entries(charts)) {
      const el = $(`chart-${key}`)
      if (el) c.plot.setSize(chartSize(el))
    }
  }, 100)
})

connect()
