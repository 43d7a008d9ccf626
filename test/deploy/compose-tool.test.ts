/**
 * docker-compose.yml as the real compose tool reads it (`docker-compose config`: no
 * engine needed; .ci/run installs Debian's docker-compose): valid, no default passwords
 * (a missing one is a clear error naming it), ports on 127.0.0.1 unless RTSA_BIND says
 * otherwise, Grafana without anonymous access.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { test } from 'node:test'
import { parse } from 'yaml'

const ROOT = resolve(import.meta.dirname, '../..')
const SECRETS = {
  POSTGRES_PASSWORD: 'pw-admin',
  RTSA_WRITER_PASSWORD: 'pw-writer',
  RTSA_READER_PASSWORD: 'pw-reader',
  GRAFANA_ADMIN_PASSWORD: 'pw-grafana',
}

function config(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !(k in SECRETS) && !k.startsWith('API_TOKEN') && k !== 'RTSA_BIND',
    ),
  )
  const r = spawnSync('docker-compose', ['--project-directory', ROOT, '-f', 'docker-compose.yml', 'config'], {
    cwd: ROOT,
    env: { ...base, ...env },
    encoding: 'utf8',
  })
  if (r.error) throw new Error(`docker-compose is not installed (.ci/run installs it): ${r.error.message}`)
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

interface Resolved {
  services: Record<
    string,
    {
      ports?: Array<string | { host_ip?: string; published?: number | string }>
      environment?: Record<string, string>
    }
  >
}

test('the compose file is valid, with every port on 127.0.0.1 by default', () => {
  const r = config(SECRETS)
  assert.equal(r.status, 0, r.stderr)
  const resolved = parse(r.stdout) as Resolved
  let ports = 0
  for (const [name, s] of Object.entries(resolved.services)) {
    for (const p of s.ports ?? []) {
      ports++
      const hostIp = typeof p === 'string' ? p.split(':')[0] : p.host_ip
      assert.equal(hostIp, '127.0.0.1', `${name} publishes ${JSON.stringify(p)}`)
    }
  }
  assert.ok(ports >= 5, 'kafka, postgres, api, prometheus and grafana publish a port')
  const g = resolved.services.grafana!.environment!
  assert.equal(g.GF_AUTH_ANONYMOUS_ENABLED, 'false')
  assert.equal(g.GF_SECURITY_ADMIN_PASSWORD, 'pw-grafana')
  // The processor writes as the writer, the API reads as the reader; nobody as the superuser.
  assert.equal(resolved.services['stream-processor']!.environment!.PGUSER, 'rtsa_writer')
  assert.equal(resolved.services['metrics-api']!.environment!.PGUSER, 'rtsa_reader')
  assert.doesNotMatch(r.stdout, /postgres:\/\/rt:rt@|PASSWORD: (rt|admin)\b/)
})

test('RTSA_BIND opens the ports when the operator says so', () => {
  const r = config({ ...SECRETS, RTSA_BIND: '0.0.0.0' })
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /0\.0\.0\.0/)
})

test('each missing password is a clear error naming it', () => {
  for (const name of Object.keys(SECRETS)) {
    const { [name]: _, ...rest } = SECRETS as Record<string, string>
    const r = config(rest)
    assert.notEqual(r.status, 0, `${name} missing`)
    assert.match(r.stderr, new RegExp(`set ${name}`), r.stderr)
  }
})
