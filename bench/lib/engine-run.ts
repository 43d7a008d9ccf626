/**
 * engine: runs bench/engine.ts as a child process, once per traffic profile (a large
 * audience whose state outgrows the CPU caches, and the generator's defaults), and
 * parses its output. Baselines in the same run: a JSON.parse reference
 * (lib/calibrate.ts) for the engine's rate, and the engine alone for the bytes-in rate
 * (decoder included).
 */
import { resolve } from 'node:path'
import { type Benchmark, opt } from './context.ts'
import { runScript } from './processors.ts'
import { figure } from './report.ts'

const num = (s: string) => Number(s.replaceAll(',', ''))

export const engine: Benchmark = {
  name: 'engine',
  describe: 'engine events/s on one core, bytes of state per present viewer (bench/engine.ts)',
  async run(ctx) {
    const records = opt(ctx, 'records', 2_000_000, 4_000_000)
    const batch = opt(ctx, 'batch', 5000, 5000)
    const calibration: number[] = []
    const notes: string[] = []
    const script = resolve(import.meta.dirname, '../engine.ts')
    const reference = resolve(import.meta.dirname, 'calibrate.ts')
    // bench/engine.ts does its own 3 runs per figure; one invocation per `runs` group of 3.
    const invocations = Math.max(1, Math.round(ctx.runs / 3))
    const byTraffic: Record<Traffic, Measured> = { large: measured(), defaults: measured() }
    for (let i = 0; i < invocations; i++) {
      const cal = JSON.parse(await runScript(reference, ['200000'])) as { jsonParsePerSec: number }
      ctx.log(`  reference: JSON.parse of generator records ${Math.round(cal.jsonParsePerSec)} records/s`)
      for (const traffic of TRAFFICS) {
        const args = [String(records), String(batch), traffic]
        ctx.log(`engine: npx node --expose-gc bench/engine.ts ${args.join(' ')}`)
        const out = await runScript(script, args, ['--expose-gc'])
        for (const line of out.trim().split('\n')) ctx.log(`  ${line}`)
        const m = byTraffic[traffic]
        for (const x of out.matchAll(/^decoded in run \d+: ([\d,]+) records\/s/gm)) {
          m.decoded.push(num(x[1]!))
          if (traffic === 'large') calibration.push(cal.jsonParsePerSec)
        }
        for (const x of out.matchAll(/^bytes in\s+run \d+: ([\d,]+) records\/s/gm)) m.bytesIn.push(num(x[1]!))
        for (const x of out.matchAll(/^rollups run \d+: ([\d,]+) records\/s/gm)) m.rollups.push(num(x[1]!))
        for (const x of out.matchAll(/^paced minutes run \d+: ([\d,]+) records\/s/gm))
          m.pacedMinutes.push(num(x[1]!))
        for (const x of out.matchAll(/^paced rollups run \d+: ([\d,]+) records\/s/gm))
          m.pacedRollups.push(num(x[1]!))
        for (const x of out.matchAll(/^state \((retainLog \w+|rollups)\): .* = ([\d,]+) B\/viewer.*$/gm)) {
          if (x[1] === 'retainLog false') m.perViewerNoLog.push(num(x[2]!))
          else if (x[1] === 'rollups') m.perViewerRollups.push(num(x[2]!))
          else m.perViewer.push(num(x[2]!))
          if (i === 0) notes.push(`${traffic}: ${x[0]}`)
        }
        const head = /^[\d,]+ records, .*$/m.exec(out)
        if (head && i === 0) notes.push(`${traffic} input: ${head[0]}`)
      }
    }
    if (byTraffic.large.decoded.length === 0) throw new Error('could not parse bench/engine.ts output')
    const figures = [
      figure('reference: JSON.parse of the same kind of records (one core)', 'records/s', calibration),
    ]
    for (const traffic of TRAFFICS) {
      const m = byTraffic[traffic]
      const label = LABELS[traffic]
      figures.push(
        figure(`engine, decoded events in, ${label} (one core)`, 'events/s', m.decoded, {
          baseline: { name: 'JSON.parse reference', runs: calibration },
        }),
        figure(`engine + decoder, bytes in, ${label} (one core)`, 'events/s', m.bytesIn, {
          baseline: { name: 'engine alone', runs: m.decoded },
        }),
      )
      if (m.rollups.length > 0)
        figures.push(
          figure(
            `engine with 1 hour and 1 day windows too, provisional rows every batch, ${label}`,
            'events/s',
            m.rollups,
            {
              baseline: { name: 'minutes only', runs: m.decoded },
            },
          ),
        )
      if (m.pacedRollups.length > 0)
        figures.push(
          figure(
            `engine with 1 hour and 1 day windows too, provisional rows every 20 batches, ${label}`,
            'events/s',
            m.pacedRollups,
            { baseline: { name: 'minutes only, same pace', runs: m.pacedMinutes } },
          ),
        )
      if (m.perViewerRollups.length > 0)
        figures.push(
          figure(
            `engine state per present viewer, with 1 hour and 1 day windows, ${label}`,
            'B',
            m.perViewerRollups,
            {
              baseline: { name: 'minutes only, retainLog false', runs: m.perViewerNoLog },
            },
          ),
        )
      if (m.perViewer.length > 0)
        figures.push(figure(`engine state per present viewer, ${label}`, 'B', m.perViewer))
      if (m.perViewerNoLog.length > 0)
        figures.push(
          figure(`engine state per present viewer, retainLog false, ${label}`, 'B', m.perViewerNoLog, {
            baseline: { name: 'with the log', runs: m.perViewer },
          }),
        )
    }
    return {
      settings: { records, batch, script: 'bench/engine.ts', traffic: TRAFFICS.join(', ') },
      figures,
      notes,
    }
  },
}

type Traffic = 'large' | 'defaults'
const TRAFFICS: readonly Traffic[] = ['large', 'defaults']
const LABELS: Record<Traffic, string> = {
  large: 'large audience (200 streams, 200k users)',
  defaults: 'generator defaults (3 streams, 500 users)',
}

interface Measured {
  decoded: number[]
  bytesIn: number[]
  perViewer: number[]
  perViewerNoLog: number[]
  rollups: number[]
  pacedMinutes: number[]
  pacedRollups: number[]
  perViewerRollups: number[]
}

const measured = (): Measured => ({
  decoded: [],
  bytesIn: [],
  perViewer: [],
  perViewerNoLog: [],
  rollups: [],
  pacedMinutes: [],
  pacedRollups: [],
  perViewerRollups: [],
})
