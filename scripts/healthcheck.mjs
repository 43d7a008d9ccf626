#!/usr/bin/env node
/**
 * The container healthcheck of the rtsa image (Dockerfile HEALTHCHECK): exit 0 when the
 * service in this container really works, 1 with one line saying why when it does not.
 *
 *   processor  GET /ready on METRICS_PORT (running, database answers) and its loop went
 *              round within the last 30 s (the /health criterion)
 *   api        GET /health on PORT answers exactly {"ok":true} (the database answers)
 *   generator  the generator has no endpoint of its own: the broker answers, the topic
 *              exists and its end offsets grew since the last check that saw them grow
 *              (state in the temp folder; the first check needs the broker and the topic)
 *
 * Which service: RTSA_SERVICE (processor | api | generator), else the sub-command of the
 * container's main process (`rtsa process` / `serve` / `generate`). Settings are read
 * with the services' own config modules, so defaults and aliases are the same.
 * Needs Node 24 (it imports rtsa's TypeScript sources), as does the image.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const BY_COMMAND = { process: 'processor', serve: 'api', generate: 'generator' }
const TIMEOUT_MS = 5000
const LOOP_MAX_AGE_MS = 30_000

const src = (path) => new URL(`../src/${path}`, import.meta.url).href

function serviceOf() {
  const named = process.env.RTSA_SERVICE?.trim()
  if (named) return named
  try {
    const args = readFileSync('/proc/1/cmdline', 'utf8').split('\0')
    const at = args.findIndex((a) => a.endsWith('rtsa.js') || a.endsWith('main.ts'))
    return at >= 0 ? BY_COMMAND[args[at + 1]] : undefined
  } catch {
    return undefined
  }
}

/** A listener on all interfaces is reached on loopback. */
const reachable = (host) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host)
const urlHost = (host) => (host.includes(':') ? `[${host}]` : host)

async function get(url) {
  let res
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) })
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : ''
    throw new Error(`${url}: ${cause || (error instanceof Error ? error.message : String(error))}`)
  }
  const text = await res.text()
  let body
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: res.status, text, body }
}

async function processor() {
  const { loadProcessorConfig } = await import(src('processor/config.ts'))
  const c = loadProcessorConfig()
  if (c.metricsPort === 0) return 'METRICS_PORT=0: the processor has no health endpoint to check'
  const url = `http://${urlHost(reachable(c.metricsHost))}:${c.metricsPort}/ready`
  const r = await get(url)
  if (r.status !== 200 || r.body?.ok !== true) return `${url}: ${r.status} ${r.text.slice(0, 200)}`
  if (typeof r.body.loop_age_ms === 'number' && r.body.loop_age_ms > LOOP_MAX_AGE_MS)
    return `${url}: the processing loop has not gone round for ${r.body.loop_age_ms} ms`
  return undefined
}

async function api() {
  const { loadApiConfig } = await import(src('api/config.ts'))
  const c = loadApiConfig()
  const url = `http://${urlHost(reachable(c.host))}:${c.port}/health`
  const r = await get(url)
  if (r.status !== 200 || r.body?.ok !== true) return `${url}: ${r.status} ${r.text.slice(0, 200)}`
  return undefined
}

async function generator() {
  const { loadGeneratorConfig, bootstrapOf } = await import(src('generator/config.ts'))
  const { KafkaAdmin } = await import(src('kafka/client.ts'))
  const c = loadGeneratorConfig()
  const bootstrap = bootstrapOf(c)
  const admin = new KafkaAdmin(bootstrap, { timeoutMs: TIMEOUT_MS })
  let total
  try {
    if (!(await admin.listTopics()).includes(c.kafkaTopic))
      return `topic ${c.kafkaTopic} does not exist on ${bootstrap.join(',')}`
    total = (await admin.offsets(c.kafkaTopic)).reduce((n, p) => n + p.latest, 0n)
  } finally {
    await admin.close()
  }
  const file = join(tmpdir(), `rtsa-healthcheck-${c.kafkaTopic}.json`)
  let previous
  try {
    previous = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    previous = undefined
  }
  const now = Date.now()
  const grew = previous === undefined || total > BigInt(previous.total)
  // Only a sample that shows progress replaces the old one, so a stall is seen on every check.
  if (grew) writeFileSync(file, JSON.stringify({ at: now, total: String(total) }))
  if (!grew)
    return `no new records in ${c.kafkaTopic} for ${Math.round((now - previous.at) / 1000)} s (still ${total})`
  return undefined
}

const checks = { processor, api, generator }

async function main() {
  const [major] = process.versions.node.split('.').map(Number)
  if (major < 24) return `needs Node.js 24 or newer (this is ${process.version})`
  const service = serviceOf()
  const check = service === undefined ? undefined : checks[service]
  if (check === undefined)
    return `unknown service ${JSON.stringify(service)}: set RTSA_SERVICE to processor, api or generator`
  return check()
}

main().then(
  (problem) => {
    if (problem === undefined) process.exit(0)
    console.error(`healthcheck: ${problem}`)
    process.exit(1)
  },
  (error) => {
    console.error(`healthcheck: ${error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  },
)
