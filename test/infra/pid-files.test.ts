/** A pid file names one process (pid and start time): a stale one never makes rtsa signal a stranger. */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { livePidOf, startTimeOf, writePidFile } from '../../src/infra/exec.ts'

const dir = mkdtempSync(join(tmpdir(), 'rtsa-pid-'))

test('the process that wrote the pid file is found', () => {
  const file = join(dir, 'me.pid')
  writePidFile(file, process.pid)
  assert.equal(livePidOf(file, 'never-in-a-command-line'), process.pid)
})

test('a live process with another start time (the pid was reused) is not trusted', () => {
  assert.ok(startTimeOf(process.pid) !== undefined, 'this machine has /proc')
  const file = join(dir, 'reused.pid')
  writeFileSync(file, `${process.pid} 1\n`)
  assert.equal(livePidOf(file, process.argv[1]!), undefined)
})

test('an old pid file (no start time) is trusted only when the command line holds the marker', () => {
  const file = join(dir, 'old.pid')
  writeFileSync(file, String(process.pid))
  assert.equal(livePidOf(file, 'not-this-process-marker'), undefined)
  assert.equal(livePidOf(file, process.execPath), process.pid)
})

test('a dead process, garbage and a missing file are no pid', async () => {
  const child = spawn(process.execPath, ['-e', ''])
  await once(child, 'exit')
  const file = join(dir, 'dead.pid')
  writePidFile(file, child.pid!)
  assert.equal(livePidOf(file, ''), undefined)
  writeFileSync(file, 'not a pid\n')
  assert.equal(livePidOf(file, ''), undefined)
  assert.equal(livePidOf(join(dir, 'missing.pid'), ''), undefined)
})
