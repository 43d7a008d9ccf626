import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname } from 'node:path'
import { RtsaError } from '../errors/catalogue.ts'

/** True when `command` can be run (found on the PATH). */
export function hasCommand(command: string): boolean {
  const result = spawnSync(command, ['-version'], { stdio: 'ignore' })
  return result.error === undefined
}

/** Runs a command to completion; rejects with its output tail when it fails. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env })
    let output = ''
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString()
    })
    child.on('error', (error) => reject(error))
    child.on('close', (code) => {
      if (code === 0) resolve(output)
      else
        reject(
          new RtsaError(
            'PROCESS_FAILED',
            `${command} ${args.join(' ')} exited with ${code}: ${output.slice(-2000)}`,
          ),
        )
    })
  })
}

/** Whether a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Resolves true when 127.0.0.1:`port` can be bound (nothing listens there and no socket holds it). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * When the process started (clock ticks since boot, from /proc/<pid>/stat), or undefined
 * where there is no /proc. With the pid it names one process: a pid reused after a
 * reboot or a crash has another start time.
 */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/** Writes a pid file naming the process by pid and start time. */
export function writePidFile(file: string, pid: number): void {
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${pid} ${startTimeOf(pid) ?? '-'}\n`)
}

/**
 * The pid of a pid file when that process still runs, and is the one that wrote it (same
 * start time). A file from before start times were kept is trusted only when the
 * process's command line holds `marker`. Anything else: undefined, so a stale file never
 * makes rtsa signal a stranger that got the pid.
 */
export function livePidOf(file: string, marker: string): number | undefined {
  if (!existsSync(file)) return undefined
  const [rawPid, recorded] = readFileSync(file, 'utf8').trim().split(/\s+/)
  const pid = Number(rawPid)
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined
  const now = startTimeOf(pid)
  if (recorded !== undefined && recorded !== '-' && now !== undefined)
    return recorded === now ? pid : undefined
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker) ? pid : undefined
  } catch {
    // No /proc (not Linux): the pid is all there is to go by.
    return pid
  }
}
