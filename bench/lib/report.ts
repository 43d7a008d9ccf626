/**
 * Results of the benchmarks: each figure is the median of several runs and, where it
 * has one, comes with the baseline measured in the same run and their ratio. Written
 * as JSON to bench/results/<name>.json (plus a timestamped copy) and summarised in
 * bench/results/summary.md.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Machine } from './machine.ts'
import { fmt, median } from './stats.ts'

export interface Figure {
  readonly name: string
  readonly unit: string
  /** One value per run. */
  readonly runs: readonly number[]
  /** The median of `runs`. */
  readonly value: number
  /** What the figure is compared with, measured in the same run. */
  readonly baseline?: { readonly name: string; readonly runs: readonly number[]; readonly value: number }
  /** value / baseline.value (median of the per-run ratios when both have runs). */
  readonly ratio?: number
  readonly target?: string
  readonly met?: boolean
}

export interface BenchResult {
  readonly name: string
  readonly command: string
  readonly startedAt: string
  readonly seconds: number
  readonly machine: Machine
  /** The git commit the benchmark ran on. */
  readonly commit?: string
  readonly settings: Readonly<Record<string, unknown>>
  readonly figures: readonly Figure[]
  readonly notes: readonly string[]
}

/** A figure from per-run values, with an optional per-run baseline. */
export function figure(
  name: string,
  unit: string,
  runs: readonly number[],
  extra: {
    baseline?: { name: string; runs: readonly number[] }
    target?: string
    met?: (value: number, ratio: number | undefined) => boolean
  } = {},
): Figure {
  const value = median(runs)
  const base = extra.baseline
  let ratio: number | undefined
  if (base && base.runs.length > 0) {
    const paired = runs.length === base.runs.length ? runs.map((r, i) => r / base.runs[i]!) : []
    ratio = paired.length > 0 ? median(paired) : value / median(base.runs)
  }
  return {
    name,
    unit,
    runs: [...runs],
    value,
    ...(base ? { baseline: { name: base.name, runs: [...base.runs], value: median(base.runs) } } : {}),
    ...(ratio === undefined ? {} : { ratio }),
    ...(extra.target === undefined ? {} : { target: extra.target }),
    ...(extra.met === undefined ? {} : { met: extra.met(value, ratio) }),
  }
}

const NAMES = [
  'engine',
  'catchup',
  'freshness',
  'api',
  'memory',
  'recovery',
  'faults',
  'writes',
  'spark',
] as const
export type BenchName = (typeof NAMES)[number]
export const BENCH_NAMES: readonly BenchName[] = NAMES

export function writeResult(dir: string, result: BenchResult): string {
  mkdirSync(dir, { recursive: true })
  const json = `${JSON.stringify(result, null, 2)}\n`
  const stamp = result.startedAt.replaceAll(':', '').replace(/\.\d+Z$/, 'Z')
  writeFileSync(join(dir, `${result.name}-${stamp}.json`), json)
  const latest = join(dir, `${result.name}.json`)
  writeFileSync(latest, json)
  return latest
}

const num = (v: number, unit: string) => {
  const digits = Math.abs(v) < 10 ? 2 : Math.abs(v) < 100 ? 1 : 0
  return `${fmt(v, digits)} ${unit}`.trim()
}

/** Markdown for one result: a table of its figures and its notes. */
export function resultMarkdown(r: BenchResult): string {
  const lines = [
    `### ${r.name}`,
    '',
    `\`${r.command}\` — ${r.startedAt}, ${r.seconds.toFixed(0)} s${r.commit ? `, commit ${r.commit}` : ''}`,
    '',
    '| figure | median | runs | baseline (same run) | ratio | target | met |',
    '|---|---|---|---|---|---|---|',
  ]
  for (const f of r.figures) {
    const runs = f.runs.map((v) => fmt(v, Math.abs(v) < 10 ? 2 : 0)).join(', ')
    const base = f.baseline ? `${f.baseline.name}: ${num(f.baseline.value, f.unit)}` : ''
    const ratio = f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}x`
    const met = f.met === undefined ? '' : f.met ? 'yes' : '**no**'
    lines.push(
      `| ${f.name} | ${num(f.value, f.unit)} | ${runs} | ${base} | ${ratio} | ${f.target ?? ''} | ${met} |`,
    )
  }
  if (r.notes.length > 0) lines.push('', ...r.notes.map((n) => `- ${n}`))
  return lines.join('\n')
}

/** bench/results/summary.md from the latest result of every benchmark found in `dir`. */
export function writeSummary(dir: string): string {
  const results: BenchResult[] = []
  for (const name of NAMES) {
    const file = join(dir, `${name}.json`)
    if (existsSync(file)) results.push(JSON.parse(readFileSync(file, 'utf8')) as BenchResult)
  }
  const m = results[0]?.machine
  const text = [
    '# rtsa benchmark summary',
    '',
    m
      ? `Machine: ${m.cpus} CPUs (${m.cpuModel}), ${fmt(m.memoryGiB, 1)} GiB RAM, Node ${m.node}, ${m.os}; load average at start ${m.loadAverage}.`
      : '',
    '',
    ...results.flatMap((r) => [resultMarkdown(r), '']),
  ].join('\n')
  writeFileSync(join(dir, 'summary.md'), text)
  return text
}
