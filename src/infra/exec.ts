import { spawn, spawnSync } from 'node:child_process'
import { createServer } from 'node:net'
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
