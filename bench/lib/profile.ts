/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`) by where the time goes: self
 * time per category (decode, engine, SQL, Kafka, GC, idle, ...) decided by each sampled
 * frame's file, and the top functions by self time.
 *
 *   npx node bench/lib/profile.ts <file.cpuprofile>
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: readonly number[]
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

const CATEGORIES: readonly [string, RegExp][] = [
  ['decode (src/events)', /\/src\/events\//],
  ['engine (src/engine)', /\/src\/engine\//],
  ['processor loop (src/processor)', /\/src\/processor\//],
  ['SQL: store (src/store)', /\/src\/store\//],
  ['SQL: pg driver', /\/node_modules\/(pg|pg-protocol|pg-types|pg-pool|postgres-[a-z]+)\//],
  ['Kafka: src/kafka', /\/src\/kafka\//],
  ['Kafka: @platformatic/kafka (+ dynamic-buffer)', /\/node_modules\/@platformatic\//],
  ['logging, metrics', /\/node_modules\/(pino|prom-client|sonic-boom|thread-stream)/],
  ['API: src/api', /\/src\/api\//],
  [
    'Fastify, JSON serialisation, validation',
    /\/node_modules\/(fastify|@fastify|fast-json-stringify|ajv|find-my-way|light-my-request|avvio|typebox)/,
  ],
  ['other node_modules', /\/node_modules\//],
  ['Node internals (streams, net, buffers)', /^node:/],
]

function categoryOf(n: ProfileNode): string {
  const { url, functionName } = n.callFrame
  if (functionName === '(garbage collector)') return 'GC'
  if (functionName === '(idle)') return 'idle'
  if (functionName === '(program)') return '(program: native, compiler)'
  for (const [name, re] of CATEGORIES) if (re.test(url)) return name
  if (url === '') return 'native builtins (JSON, RegExp, ...)'
  return 'other'
}

export interface ProfileSummary {
  readonly totalMs: number
  readonly busyMs: number
  readonly categories: readonly { name: string; ms: number; share: number }[]
  readonly top: readonly { fn: string; where: string; ms: number; share: number }[]
}

export function summarize(file: string, topN = 20): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map<number, number>()
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i]!
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000)
  }
  const cats = new Map<string, number>()
  const fns = new Map<string, { fn: string; where: string; ms: number }>()
  let total = 0
  for (const [id, ms] of self) {
    const n = byId.get(id)!
    total += ms
    const c = categoryOf(n)
    cats.set(c, (cats.get(c) ?? 0) + ms)
    const where = `${n.callFrame.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`
    const key = `${n.callFrame.functionName}@${where}`
    const f = fns.get(key) ?? { fn: n.callFrame.functionName || '(anonymous)', where, ms: 0 }
    f.ms += ms
    fns.set(key, f)
  }
  const idle = cats.get('idle') ?? 0
  const busy = total - idle
  return {
    totalMs: total,
    busyMs: busy,
    categories: [...cats]
      .map(([name, ms]) => ({ name, ms, share: ms / Math.max(1, busy) }))
      .sort((a, b) => b.ms - a.ms),
    top: [...fns.values()]
      .filter((f) => f.fn !== '(idle)')
      .sort((a, b) => b.ms - a.ms)
      .slice(0, topN)
      .map((f) => ({ ...f, share: f.ms / Math.max(1, busy) })),
  }
}

export function profileMarkdown(s: ProfileSummary): string {
  return [
    `Profile: ${(s.totalMs / 1000).toFixed(1)} s sampled, ${(s.busyMs / 1000).toFixed(1)} s busy (not idle). Self time by category (share of busy time):`,
    '',
    '| category | self ms | share |',
    '|---|---|---|',
    ...s.categories.map(
      (c) =>
        `| ${c.name} | ${c.ms.toFixed(0)} | ${c.name === 'idle' ? '' : `${(c.share * 100).toFixed(1)}%`} |`,
    ),
    '',
    'Top functions by self time:',
    '',
    '| function | where | self ms | share |',
    '|---|---|---|---|',
    ...s.top.map((f) => `| ${f.fn} | ${f.where} | ${f.ms.toFixed(0)} | ${(f.share * 100).toFixed(1)}% |`),
  ].join('\n')
}

if (import.meta.main) {
  const file = process.argv[2]
  if (!file) {
    console.error('usage: profile.ts <file.cpuprofile>')
    process.exit(2)
  }
  console.log(profileMarkdown(summarize(file)))
}
