/** Starting and stopping bench/lib/api-child.ts. */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'

export interface ApiChild {
  readonly url: string
  readonly child: ChildProcess
  readonly stop: () => Promise<void>
}

export async function startApiChild(
  databaseUrl: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Promise<ApiChild> {
  const child = spawn(process.execPath, [...nodeArgs, resolve(import.meta.dirname, 'api-child.ts')], {
    // The load comes from one address: the per-client rate limit would measure itself.
    env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', API_RATE_LIMIT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout! })
  const url = await new Promise<string>((done, fail) => {
    child.once('exit', (code) => fail(new Error(`the API child exited (${code})`)))
    lines.on('line', (line) => {
      if (line.startsWith('{"url"')) done((JSON.parse(line) as { url: string }).url)
    })
  })
  return {
    url,
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    },
  }
}
