/** `rtsa generate` in live mode as a child process, with its progress lines collected. */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { resolve } from 'node:path'

export interface GeneratorChild {
  readonly child: ChildProcess
  readonly output: () => string
  readonly stop: () => Promise<void>
}

export function startLiveGenerator(o: {
  bootstrap: readonly string[]
  topic: string
  rate: number
  streams: number
  users: number
  durationS: number
  seed: string
}): GeneratorChild {
  const root = resolve(import.meta.dirname, '../..')
  const args = [
    resolve(root, 'src/cli/main.ts'),
    'generate',
    '--bootstrap',
    o.bootstrap.join(','),
    '--topic',
    o.topic,
    '--rate',
    String(o.rate),
    '--streams',
    String(o.streams),
    '--users',
    String(o.users),
    '--duration',
    `${o.durationS}s`,
    '--seed',
    o.seed,
    '--progress',
    '5s',
  ]
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const collect = (d: Buffer) => {
    output += d.toString()
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    },
  }
}
