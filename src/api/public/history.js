// Long-range history for the dashboard and the stream page: the range picker, the
// resolution it implies (the API's `auto`: minutes up to 6 h, hours up to 7 d, days
// beyond), authorised JSON reads, and time-axis labels that fit the range.

export const RANGES = [
  { key: '1h', label: '1 h', minutes: 60 },
  { key: '6h', label: '6 h', minutes: 360 },
  { key: '24h', label: '24 h', minutes: 1440 },
  { key: '7d', label: '7 d', minutes: 10_080 },
  { key: '30d', label: '30 d', minutes: 43_200 },
]
export const RESOLUTION_TEXT = { '1m': 'per minute', '1h': 'per hour', '1d': 'per day' }

const TOKEN_KEY = 'rtsa.token'

/** GET `url` as JSON with the stored token; throws with the status on a non-2xx answer. */
export async function getJson(url) {
  const token = localStorage.getItem(TOKEN_KEY) || ''
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} })
  if (!res.ok) throw new Error(`${url.split('?')[0]} answered ${res.status}`)
  return res.json()
}

/**
 * Fills `el` with one button per range; `onPick(range)` on a click. The current range is
 * the pressed button (aria-pressed) and is kept in the URL's `range` parameter.
 */
export function rangePicker(el, onPick) {
  const wanted = new URLSearchParams(location.search).get('range')
  let current = RANGES.find((r) => r.key === wanted) || RANGES[0]
  const buttons = RANGES.map((r) => {
    const b = document.createElement('button')
    b.type = 'button'
    b.textContent = r.label
    b.dataset.range = r.key
    b.addEventListener('click', () => {
      current = r
      press()
      const url = new URL(location.href)
      url.searchParams.set('range', r.key)
      history.replaceState(null, '', url)
      onPick(r)
    })
    return b
  })
  const press = () => {
    for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.range === current.key))
  }
  el.replaceChildren(...buttons)
  press()
  return () => current
}

const hhmm = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false })
const dayHour = new Intl.DateTimeFormat(undefined, {
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  hour12: false,
})
const day = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' })

/** x-axis labels for a resolution: times of day, day and hour, or days. */
export function timeAxis(resolution) {
  const f = resolution === '1d' ? day : resolution === '1h' ? dayHour : hhmm
  // Room between ticks for the longest label ("Nov 20, 14").
  return {
    values: (_u, splits) => splits.map((s) => f.format(new Date(s * 1000))),
    space: resolution === '1m' ? 50 : 90,
  }
}
