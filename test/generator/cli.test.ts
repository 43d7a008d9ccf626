import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { decodeEvent } from '../../src/events/decode.ts'

const MAIN = new URL('../../src/cli/main.ts', import.meta.url).pathname

function rtsa(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, KAFKA_BOOTSTRAP: '', BOOTSTRAP: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => {
    stdout += d
  })
  child.stderr.on('data', (d) => {
    stderr += d
  })
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  )
  return { child, exit }
}

describe('rtsa generate (CLI, without Kafka)', () => {
  it('flushes what it generated and exits 0 on SIGINT', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'rtsa-cli-'))
    t.after(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'out.jsonl')
    const { child, exit } = rtsa([
      'generate',
      '--output',
      file,
      '--rate',
      '2000',
      '--seed',
      'cli',
      '--progress',
      '1s',
    ])
    // Wait (without a time limit of our own) until records reach the file, then interrupt.
    while (!existsSync(file) || statSync(file).size < 10_000) await sleep(50)
    child.kill('SIGINT')
    const { code, stderr } = await exit
    assert.equal(code, 0, stderr)
    assert.match(stderr, /SIGINT: stopping/)
    const lines = readFileSync(file, 'utf8').split('\n')
    assert.equal(lines.pop(), '', 'the file ends with a complete line')
    const done = /done \(interrupted\): (\d+) records/.exec(stderr)
    assert.ok(done, stderr)
    assert.equal(lines.length, Number(done[1]))
    for (const line of lines) {
      const { key, value } = JSON.parse(line) as { key: string; value: string }
      const r = decodeEvent(Buffer.from(value))
      assert.ok(r.ok)
      assert.equal(r.event.streamId, key)
    }
  })

  it('reproduces a simulated interval from its seed, byte for byte', async () => {
    const args = [
      'generate',
      '--output',
      '-',
      '--simulate-from',
      '2025-01-01T00:00:00Z',
      '--duration',
      '2 minutes',
    ]
    const a = await rtsa([...args, '--seed', 's1', '--dup-rate', '0.1']).exit
    const b = await rtsa([...args, '--seed', 's1', '--dup-rate', '0.1']).exit
    const c = await rtsa([...args, '--seed', 's2', '--dup-rate', '0.1']).exit
    assert.equal(a.code, 0, a.stderr)
    assert.ok(a.stdout.split('\n').length > 1000)
    assert.equal(a.stdout, b.stdout)
    assert.notEqual(a.stdout, c.stdout)
  })

  it('lets flags win over env, and names bad settings', async () => {
    const ok = await rtsa(['generate', '--output', '-', '--count', '5', '--simulate-from', '1 hour'], {
      COUNT: '50',
    }).exit
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.stdout.trim().split('\n').length, 5)
    const bad = await rtsa(['generate', '--output', '-', '--dup-rate', '2']).exit
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /FAULT_DUPLICATE_RATE="2" is invalid/)
    const unknown = await rtsa(['generate', '--frobnicate']).exit
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /usage: rtsa generate/)
    const help = await rtsa(['produce', '--help']).exit
    assert.equal(help.code, 0)
    assert.match(help.stdout, /--file/)
    const noFile = await rtsa(['produce']).exit
    assert.equal(noFile.code, 2)
    const missing = await rtsa(['produce', '--file', '/nonexistent/events.jsonl']).exit
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /INPUT_INVALID: cannot read \/nonexistent\/events.jsonl/)
  })
})
