/**
 * engine: runs bench/engine.ts (by another engineer; it exports nothing) as a child
 * process and parses its output. Baselines in the same run: a JSON.parse reference
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
    const records = opt(ctx, 'records', 500_000, 2_000_000)
    const batch = opt(ctx, 'batch', 5000, 5000)
    const decoded: number[] = []
    const bytesIn: number[] = []
    const perViewer: number[] = []
    const perViewerNoLog: number[] = []
    const notes: string[] = []
    const calibration: number[] = []
    const script = resolve(import.meta.dirname, '../engine.ts')
    const reference = resolve(import.meta.dirname, 'calibrate.ts')
    // bench/engine.ts does its own 3 runs per figure; one invocation per `runs` group of 3.
    const invocations = Math.max(1, Math.round(ctx.runs / 3))
    for (let i = 0; i < invocations; i++) {
      const cal = JSON.parse(await runScript(reference, ['200000'])) as { jsonParsePerSec: number }
      ctx.log(`  reference: JSON.parse of generator records ${Math.round(cal.jsonParsePerSec)} records/s`)
      ctx.log(`engine: npx node --expose-gc bench/engine.ts ${records} ${batch}`)
      const out = await runScript(script, [String(records), String(batch)], ['--expose-gc'])
      for (const line of out.trim().split('\n')) ctx.log(`  ${line}`)
      for (const m of out.matchAll(/^decoded in run \d+: ([\d,]+) records\/s/gm)) {
        decoded.push(num(m[1]!))
        calibration.push(cal.jsonParsePerSec)
      }
      for (const m of out.matchAll(/^bytes in\s+run \d+: ([\d,]+) records\/s/gm)) bytesIn.push(num(m[1]!))
      // Older bench/engine.ts prints one `state: ...` line; newer ones one per retainLog setting.
      for (const m of out.matchAll(/^state(?: \(retainLog (\w+)\))?: .* = ([\d,]+) B\/viewer.*$/gm)) {
        if (m[1] === 'false') perViewerNoLog.push(num(m[2]!))
        else perViewer.push(num(m[2]!))
        notes.push(`state line: ${m[0]}`)
      }
      const head = /^[\d,]+ records, .*$/m.exec(out)
      if (head && i === 0) notes.push(`input: ${head[0]}`)
    }
    if (decoded.length === 0) throw new Error('could not parse bench/engine.ts output')
    return {
      settings: { records, batch, script: 'bench/engine.ts' },
      figures: [
        figure('reference: JSON.parse of the same kind of records (one core)', 'records/s', calibration),
        figure('engine, decoded events in (one core)', 'events/s', decoded, {
          baseline: { name: 'JSON.parse reference', runs: calibration },
        }),
        figure('engine + decoder, bytes in (one core)', 'events/s', bytesIn, {
          baseline: { name: 'engine alone', runs: decoded },
        }),
        ...(perViewer.length > 0 ? [figure('engine state per present viewer', 'B', perViewer)] : []),
        ...(perViewerNoLog.length > 0
          ? [
              figure('engine state per present viewer, retainLog false', 'B', perViewerNoLog, {
                baseline: { name: 'with the log', runs: perViewer },
              }),
            ]
          : []),
      ],
      notes,
    }
  },
}
