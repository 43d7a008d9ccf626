/**
 * `rtsa config [process|serve|generate|up] [--json]`: the effective settings of a service
 * with their source (default, or the env var that set them), secrets masked, and every
 * bad value named. Exit 0, or 1 when a value is invalid. Also the definitions behind
 * README's settings table (`npm run docs:settings`).
 */
import { apiSettings } from '../api/config.ts'
import type { Setting } from '../config/define.ts'
import { effectiveSettings } from '../config/describe.ts'
import { generatorSettings } from '../generator/config.ts'
import { processorSettings } from '../processor/config.ts'
import type { Values } from './command.ts'
import { upSettings } from './up.ts'

/** Each service's settings, by the command that runs it. */
export const SERVICE_SETTINGS: Readonly<Record<string, Record<string, Setting<unknown>>>> = {
  process: processorSettings,
  serve: apiSettings,
  generate: generatorSettings,
  up: upSettings,
}

export async function configCommand(services: readonly string[], values: Values): Promise<number> {
  const chosen = services.length > 0 ? services : Object.keys(SERVICE_SETTINGS)
  const report = Object.fromEntries(
    chosen.map((s) => [s, effectiveSettings(SERVICE_SETTINGS[s]!, process.env)]),
  )
  const bad = Object.values(report).some((rows) => rows.some((r) => r.problem !== undefined))
  if (values.json) {
    console.log(JSON.stringify(report, null, 2))
    return bad ? 1 : 0
  }
  for (const [service, rows] of Object.entries(report)) {
    console.log(`rtsa ${service}:`)
    const width = Math.max(...rows.map((r) => r.name.length))
    for (const r of rows) {
      const problem = r.problem === undefined ? '' : `  INVALID: ${r.problem}`
      console.log(`  ${r.name.padEnd(width)}  ${r.value}  (${r.source})${problem}`)
    }
  }
  return bad ? 1 : 0
}
