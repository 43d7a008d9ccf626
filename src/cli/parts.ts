/**
 * The parts `rtsa up` runs, each as its own process with its own log file
 * (`<home>/logs/<part>.log`) and pid file (`<home>/run/<part>.pid`), so that
 * `rtsa down`, `rtsa status` and `rtsa logs` work from another terminal.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { isAlive, livePidOf, writePidFile } from '../infra/exec.ts'
import { PROCESSOR_NODE_FLAGS } from '../processor/config.ts'

export const PARTS = ['processor', 'api', 'generator'] as const
export type PartName = (typeof PARTS)[number]

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url))

/** The `rtsa` sub-command that runs each part. */
const COMMAND: Record<PartName, string> = { processor: 'process', api: 'serve', generator: 'generate' }

export function runDir(home: string): string {
  return join(resolve(home), 'run')
}

export function logFile(home: string, part: string): string {
  return join(resolve(home), 'logs', `${part}.log`)
}

function pidFile(home: string, name: string): string {
  return join(runDir(home), `${name}.pid`)
}

export function writePid(home: string, name: string, pid: number): void {
  writePidFile(pidFile(home, name), pid)
}

/** `rtsa up` notes which parts it started, so `rtsa status` knows which one is missing. */
export function writeStartedParts(home: string, parts: readonly PartName[]): void {
  mkdirSync(runDir(home), { recursive: true })
  writeFileSync(join(runDir(home), 'up.parts'), `${parts.join('\n')}\n`)
}

export function startedParts(home: string): PartName[] {
  try {
    const names = readFileSync(join(runDir(home), 'up.parts'), 'utf8').split('\n')
    return PARTS.filter((p) => names.includes(p))
  } catch {
    return []
  }
}

export function removePid(home: string, name: string): void {
  rmSync(pidFile(home, name), { force: true })
}

/** The pid of a running part (or of `up` itself) of this home, if any. */
export function runningPid(home: string, name: string): number | undefined {
  // Only a process that is still the one rtsa started (a pid file survives a reboot).
  return livePidOf(pidFile(home, name), MAIN)
}

/** Starts a part in its own process, appending its output to its log file. */
export function spawnPart(
  home: string,
  part: PartName,
  args: string[],
  env: NodeJS.ProcessEnv,
): ChildProcess {
  const file = logFile(home, part)
  mkdirSync(join(resolve(home), 'logs'), { recursive: true })
  const out = openSync(file, 'a')
  // A flag the user set in NODE_OPTIONS wins (a command-line flag would override it).
  const own = env.NODE_OPTIONS ?? ''
  const flags =
    part === 'processor' ? PROCESSOR_NODE_FLAGS.filter((f) => !own.includes(f.split('=')[0]!)) : []
  const child = spawn(process.execPath, [...flags, MAIN, COMMAND[part], ...args], {
    env,
    stdio: ['ignore', out, out],
    detached: true,
  })
  if (child.pid !== undefined) writePid(home, part, child.pid)
  return child
}

/** Stops a process by pid: SIGTERM, then SIGKILL after `timeoutMs`. Resolves when it is gone. */
export async function stopPid(pid: number, timeoutMs = 30_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid) && Date.now() < deadline) await sleep(100)
  if (isAlive(pid)) process.kill(pid, 'SIGKILL')
  while (isAlive(pid)) await sleep(50)
}

/** Stops every running part in order (generator first, so the processor can drain), keeping data. */
export async function stopParts(home: string, log: (line: string) => void): Promise<void> {
  for (const part of ['generator', 'processor', 'api'] as const) {
    const pid = runningPid(home, part)
    if (pid !== undefined) {
      await stopPid(pid)
      log(`stopped ${part} (pid ${pid})`)
    }
    removePid(home, part)
  }
}
