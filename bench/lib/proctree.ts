/**
 * CPU time and memory of a child process and all its descendants, from /proc (Linux).
 * The Spark baseline is python -> JVM (plus whatever Spark forks), rtsa one node process;
 * both are measured the same way so their CPU-seconds and RSS compare.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

interface ProcStat {
  readonly ppid: number
  /** utime + stime + cutime + cstime: its own CPU and that of children it has waited for. */
  readonly cpuTicks: number
}

function readStat(pid: number): ProcStat | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const field = (n: number) => Number(rest[n - 3])
  return { ppid: field(4), cpuTicks: field(14) + field(15) + field(16) + field(17) }
}

/** VmHWM (peak resident set) and VmRSS of a process, in bytes. */
function readMemory(pid: number): { hwm: number; rss: number } | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return undefined
  }
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024
  return { hwm: kb('VmHWM'), rss: kb('VmRSS') }
}

/** `root` and every live descendant of it. */
function tree(root: number): Map<number, ProcStat> {
  const all = new Map<number, ProcStat>()
  for (const name of readdirSync('/proc')) {
    const pid = Number(name)
    if (!Number.isInteger(pid)) continue
    const stat = readStat(pid)
    if (stat) all.set(pid, stat)
  }
  const children = new Map<number, number[]>()
  for (const [pid, s] of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid])
  const out = new Map<number, ProcStat>()
  const todo = [root]
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    const stat = all.get(pid)
    if (stat === undefined) continue
    out.set(pid, stat)
    todo.push(...(children.get(pid) ?? []))
  }
  return out
}

export interface TreeUsage {
  /** user + system CPU seconds of the tree when `finish()` was called. */
  readonly cpuSeconds: number
  /**
   * The largest sum, over the processes alive at one poll, of their peak RSS so far (VmHWM):
   * an upper bound of the tree's peak that does not add up short-lived helpers that never
   * coexisted (Spark's launcher scripts), exact for one process.
   */
  readonly peakRssBytes: number
  /** The largest sum of current RSS seen by one poll. */
  readonly polledPeakRssBytes: number
  /** Processes seen in the tree. */
  readonly processes: number
}

/**
 * Watches the tree of `root` every `everyMs` (for processes that come and go, and for the
 * RSS); `finish()` takes a last sample and stops. Call it while the processes are still
 * alive: the CPU of a process that exited without being waited for by one in the tree is
 * lost (one that was waited for is in its parent's cutime/cstime).
 */
export function watchTree(root: number, everyMs = 200) {
  const seen = new Set<number>()
  let hwmPeak = 0
  let polledPeak = 0
  const poll = () => {
    const procs = tree(root)
    let rss = 0
    let hwm = 0
    let cpu = 0
    for (const [pid, stat] of procs) {
      const mem = readMemory(pid)
      if (mem) {
        hwm += mem.hwm
        rss += mem.rss
      }
      seen.add(pid)
      cpu += stat.cpuTicks
    }
    hwmPeak = Math.max(hwmPeak, hwm)
    polledPeak = Math.max(polledPeak, rss)
    return cpu / TICKS_PER_SECOND
  }
  poll()
  const timer = setInterval(poll, everyMs)
  timer.unref()
  return {
    finish(): TreeUsage {
      clearInterval(timer)
      const cpuSeconds = poll()
      return {
        cpuSeconds,
        peakRssBytes: hwmPeak,
        polledPeakRssBytes: polledPeak,
        processes: seen.size,
      }
    },
  }
}
