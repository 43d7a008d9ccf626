// The page of one stream (/streams/<id>): its windows over the picked range at the
// resolution that range implies, its live/offline periods, counters and dead letters.
// Plain JS, no build step; reads the JSON API with the stored token.
/* global uPlot */
import { ensureChart, showEmpty } from './charts.js'
import { getJson, RESOLUTION_TEXT, rangePicker, timeAxis } from './history.js'

const $ = (id) => document.getElementById(id)
const nf = new Intl.NumberFormat('en-US')
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' })
const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

const id = decodeURIComponent(location.pathname.replace(/^\/streams\//, '').replace(/\/$/, ''))
document.title = `rtsa · ${id}`
$('stream-name').textContent = id

const q = (path, extra = '') => `${path}?stream_id=${encodeURIComponent(id)}${extra}`

function ago(iso) {
  if (!iso) return '–'
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000)
  if (s < 60) return `${Math.round(s)} s ago`
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`
  return `${Math.round(s / 86_400)} days ago`
}

function banner(text) {
  $('banner').hidden = !text
  $('banner').textContent = text || ''
}

async function loadState() {
  const s = await getJson(q('/state'))
  const st = s.rows[0]
  if (!st) {
    $('status').textContent = 'not seen'
    return
  }
  $('status').className = `badge badge-${st.status}`
  $('status').textContent = st.status
  $('k-viewers').textContent = nf.format(st.active_viewers)
  $('k-viewers-at').textContent = `as of last event, ${ago(st.last_event_ts)}`
  $('c-acc').textContent = nf.format(st.accepted_count)
  $('c-late').textContent = nf.format(st.late_count)
  $('c-dup').textContent = nf.format(st.duplicate_count)
  $('c-rej').textContent = nf.format(st.rejected_count)
  $('c-last').textContent = ago(st.last_event_ts)
  $('c-wm').textContent = st.watermark ? when.format(new Date(st.watermark)) : '–'
}

const bars = () => uPlot.paths.bars({ size: [0.7, 40] })

async function loadWindows(range) {
  const h = await getJson(q('/metrics/history', `&minutes=${range.minutes}&resolution=auto&limit=20000`))
  const rows = h.rows
  $('res-note').textContent = `${RESOLUTION_TEXT[h.resolution]}${h.truncated ? ' (truncated)' : ''}`
  $('k-unique-note').textContent =
    `largest ${h.resolution === '1d' ? 'day' : h.resolution === '1h' ? 'hour' : 'minute'}`
  if (rows.length === 0) {
    for (const k of ['sviewers', 'schat', 'smoney'])
      showEmpty($(`chart-${k}`), k, 'No windows in this range.')
    for (const k of ['k-peak', 'k-unique', 'k-chat', 'k-money']) $(k).textContent = '–'
    return
  }
  const x = rows.map((r) => Date.parse(r.window_start) / 1000)
  const axis = { xAxis: timeAxis(h.resolution), signature: h.resolution }
  ensureChart(
    'sviewers',
    $('chart-sviewers'),
    [
      { label: 'at window end', stroke: '#4cc9f0', width: 2, points: { show: false } },
      { label: 'peak', stroke: '#f72585', width: 1.5, points: { show: false } },
      { label: 'unique', stroke: '#ffd166', width: 1.5, points: { show: false } },
    ],
    axis,
  ).setData([
    x,
    rows.map((r) => r.active_viewers),
    rows.map((r) => r.peak_viewers),
    rows.map((r) => r.unique_viewers),
  ])
  ensureChart(
    'schat',
    $('chart-schat'),
    [
      {
        label: 'messages',
        stroke: '#4cc9f0',
        fill: 'rgba(76,201,240,0.55)',
        paths: bars(),
        points: { show: false },
      },
      { label: 'chatters', stroke: '#b388ff', width: 1.5, points: { show: false } },
    ],
    axis,
  ).setData([x, rows.map((r) => r.chat_messages), rows.map((r) => r.unique_chatters)])
  ensureChart(
    'smoney',
    $('chart-smoney'),
    [
      {
        label: 'USD',
        stroke: '#06d6a0',
        fill: 'rgba(6,214,160,0.55)',
        paths: bars(),
        points: { show: false },
        value: (_u, v) => (v === null ? '–' : usd.format(v)),
      },
    ],
    { ...axis, yAxis: { values: (_u, vals) => vals.map((v) => `$${nf.format(v)}`) } },
  ).setData([x, rows.map((r) => r.donations_cents / 100)])
  const max = (k) => rows.reduce((n, r) => Math.max(n, r[k]), 0)
  const sum = (k) => rows.reduce((n, r) => n + r[k], 0)
  $('k-peak').textContent = nf.format(max('peak_viewers'))
  $('k-unique').textContent = nf.format(max('unique_viewers'))
  $('k-chat').textContent = nf.format(sum('chat_messages'))
  $('k-money').textContent = usd.format(sum('donations_cents') / 100)
}

async function loadPeriods(range) {
  const p = await getJson(q('/streams/periods', `&minutes=${range.minutes}`))
  const el = $('periods')
  if (p.periods.length === 0) {
    el.innerHTML = '<p class="muted">No stream_start or stream_stop in this range.</p>'
    return
  }
  const from = Date.parse(p.since)
  const to = Date.parse(p.until)
  const bar = document.createElement('div')
  bar.className = 'period-bar'
  const list = document.createElement('ul')
  list.className = 'period-list'
  for (const per of p.periods) {
    const a = Date.parse(per.from)
    const b = per.until ? Date.parse(per.until) : to
    const seg = document.createElement('span')
    seg.className = per.live ? 'seg-live' : 'seg-offline'
    seg.style.left = `${((a - from) / (to - from)) * 100}%`
    seg.style.width = `${Math.max(0.3, ((b - a) / (to - from)) * 100)}%`
    seg.title = `${per.live ? 'live' : 'offline'} from ${when.format(new Date(a))}`
    bar.append(seg)
    const li = document.createElement('li')
    li.textContent = `${per.live ? 'live' : 'offline'} · ${when.format(new Date(a))} – ${per.until ? when.format(new Date(b)) : 'now'}`
    list.append(li)
  }
  el.replaceChildren(bar, list)
}

async function loadDead() {
  const d = await getJson(q('/dead-letters', '&limit=20'))
  const body = $('dead').tBodies[0]
  if (d.rows.length === 0) {
    body.innerHTML =
      '<tr class="empty-row"><td colspan="4">None: every record of this stream was applied.</td></tr>'
    return
  }
  body.replaceChildren(
    ...d.rows.map((r) => {
      const tr = document.createElement('tr')
      for (const [text, cls] of [
        [ago(r.created_at), 'muted'],
        [r.reason, 'reason'],
        [r.detail, ''],
        [`${r.partition}/${r.offset}`, 'num'],
      ]) {
        const td = document.createElement('td')
        td.textContent = text
        if (cls) td.className = cls
        tr.append(td)
      }
      return tr
    }),
  )
}

async function load() {
  const range = current()
  try {
    await Promise.all([loadState(), loadWindows(range), loadPeriods(range), loadDead()])
    banner('')
    $('token-form').hidden = true
  } catch (e) {
    if (String(e.message).endsWith('401')) $('token-form').hidden = false
    else banner(`${e.message}. Retrying…`)
  }
}

const current = rangePicker($('range'), () => load())
$('token-form').addEventListener('submit', (e) => {
  e.preventDefault()
  localStorage.setItem('rtsa.token', $('token-input').value.trim())
  load()
})
load()
setInterval(load, 15_000)
