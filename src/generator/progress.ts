/**
 * Progress of long work (`rtsa produce --file`, `rtsa generate --count`): done and total,
 * rate and ETA in one line. Pure: the caller passes the time and decides where the line
 * goes (redrawn in place on a terminal, a plain line every PROGRESS_INTERVAL otherwise).
 */
export interface ProgressInput {
  readonly done: number
  /** Undefined: no known end (a live run, stdin). */
  readonly total?: number
  readonly unit: string
  readonly elapsedMs: number
  /** Units per second lately (the average when undefined). */
  readonly ratePerSec?: number
}

const int = (n: number) => Math.round(n).toLocaleString('en-US')

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

/** E.g. `12,000/50,000 records (24%), 3,000/s, ETA 13 s`. */
export function progressLine(p: ProgressInput): string {
  const avg = p.elapsedMs > 0 ? (p.done * 1000) / p.elapsedMs : 0
  const rate = p.ratePerSec ?? avg
  const head =
    p.total === undefined || p.total <= 0
      ? `${int(p.done)} ${p.unit}`
      : `${int(p.done)}/${int(p.total)} ${p.unit} (${Math.min(100, Math.floor((p.done * 100) / p.total))}%)`
  const eta =
    p.total === undefined || p.total <= 0 || p.done >= p.total
      ? ''
      : rate > 0
        ? `, ETA ${duration(((p.total - p.done) / rate) * 1000)}`
        : ', ETA unknown'
  return `${head}, ${int(rate)}/s${eta}`
}

/**
 * Where progress lines go: on a terminal one line redrawn at most every `ttyEveryMs`; else a
 * plain line every `plainEveryMs`. `finish` ends the redrawn line.
 */
export function progressWriter(o: {
  readonly tty: boolean
  readonly write: (text: string) => void
  readonly prefix: string
  readonly plainEveryMs: number
  readonly ttyEveryMs?: number
}): { update: (nowMs: number, line: () => string) => void; finish: () => void } {
  let last = Number.NEGATIVE_INFINITY
  let drawn = false
  return {
    update(nowMs, line) {
      const every = o.tty ? (o.ttyEveryMs ?? 250) : o.plainEveryMs
      if (nowMs - last < every) return
      last = nowMs
      if (o.tty) {
        o.write(`\r\x1b[2K${o.prefix}${line()}`)
        drawn = true
      } else o.write(`${o.prefix}${line()}\n`)
    },
    finish() {
      if (drawn) o.write('\n')
      drawn = false
    },
  }
}
