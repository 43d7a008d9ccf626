// uPlot helpers: one chart per container, rebuilt when its series change, resized
// with the window, replaced by an "empty" note when there is nothing to draw.
/* global uPlot */

const charts = {}

export function chartSize(el) {
  const w = Math.max(240, el.clientWidth)
  const tall = el.dataset.tall !== undefined && w >= 600
  return { width: w, height: w < 500 ? 180 : tall ? 300 : 220 }
}

const hhmm = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false })

const AXIS_FONT = '11px system-ui, sans-serif'

export function axisStyle() {
  return {
    stroke: '#8b95a7',
    grid: { stroke: 'rgba(139,149,167,0.12)', width: 1 },
    ticks: { stroke: 'rgba(139,149,167,0.25)', width: 1 },
    font: AXIS_FONT,
  }
}

// A y axis as wide as its widest label ("$80,000" was cut to "‹80,000" by a fixed width):
// the labels' width in the axis font, plus the tick (10 px), its gap (5 px) and a margin.
const measurer = document.createElement('canvas').getContext('2d')
export function labelsWidth(values) {
  measurer.font = AXIS_FONT
  let widest = 0
  for (const v of values || []) widest = Math.max(widest, measurer.measureText(String(v)).width)
  return widest
}
const yAxisSize = (_u, values) => Math.max(40, Math.ceil(labelsWidth(values)) + 22)

export function ensureChart(key, el, series, opts) {
  // A new x axis (another resolution) makes a new chart too.
  const signature = `${series.map((s) => s.label).join('|')}#${opts.signature || ''}`
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
          {
            ...axisStyle(),
            values: (_u, splits) => splits.map((s) => hhmm.format(new Date(s * 1000))),
            ...(opts.xAxis || {}),
          },
          { ...axisStyle(), size: yAxisSize, ...(opts.yAxis || {}) },
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
    resizer.observe(el)
  }
  return c.plot
}

export function showEmpty(el, key, text) {
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

// Containers change width with the window and the grid's breakpoints: follow them.
const resizer = new ResizeObserver((entries) => {
  for (const entry of entries) {
    const c = charts[entry.target.id.replace('chart-', '')]
    if (!c) continue
    const size = chartSize(entry.target)
    // Only on a width change: the chart's own height changes the container too.
    if (size.width !== c.plot.width) c.plot.setSize(size)
  }
})
