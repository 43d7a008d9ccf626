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

export function axisStyle() {
  return {
    stroke: '#8b95a7',
    grid: { stroke: 'rgba(139,149,167,0.12)', width: 1 },
    ticks: { stroke: 'rgba(139,149,167,0.25)', width: 1 },
    font: '11px system-ui, sans-serif',
  }
}

export function ensureChart(key, el, series, opts) {
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
