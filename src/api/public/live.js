// The live feed: EventSource on /live, or (when the API wants a token, which
// EventSource cannot send) the same Server-Sent Events protocol read through fetch.
// Owns the connection pill, the banner and the token form.

export const MINUTES = 30
const TOKEN_KEY = 'rtsa.token'
const $ = (id) => document.getElementById(id)

let token = localStorage.getItem(TOKEN_KEY) || ''
let source = null
let fetchAbort = null
let retryTimer = null
let lostTimer = null
let lost = false

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

let onEvent = () => {}

function handle(event, data) {
  if (event !== 'status') onEvent(event, data)
  else {
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
    clearTimeout(lostTimer)
    lostTimer = null
    lost = false
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
    } else if (!lost) {
      setConn('wait', 'reconnecting…')
      // A short blip stays quiet; a longer loss is said plainly (EventSource keeps retrying).
      lostTimer ??= setTimeout(() => {
        lost = true
        setConn('down', 'disconnected')
        banner('Lost the connection to the API. Retrying… the figures below are the last known ones.')
      }, 4000)
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

/** Connects to /live and hands every `snapshot`, `update` and `pipeline` event to `handler(name, data)`. */
export function startLive(handler) {
  onEvent = handler
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault()
    token = $('token-input').value.trim()
    localStorage.setItem(TOKEN_KEY, token)
    connect()
  })
  connect()
}
