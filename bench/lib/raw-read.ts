/**
 * The catch-up baseline, run as a child process like a processor: a plain consumer
 * (src/kafka's GroupMember over @platformatic/kafka, the processor's own fetch path)
 * reads a topic from earliest to the end offsets, with no decoding, engine or database.
 * Prints one JSON line: records read, milliseconds from process start to the end
 * (`ms`) and to the first record (`firstMs`).
 *
 *   npx node bench/lib/raw-read.ts <bootstrap> <topic> [group] [maxBuffered=40000]
 */
import { performance } from 'node:perf_hooks'
import { KafkaAdmin } from '../../src/kafka/client.ts'
import { GroupMember } from '../../src/kafka/group.ts'

const [bootstrapArg, topic, groupArg, bufferedArg] = process.argv.slice(2)
if (!bootstrapArg || !topic) {
  console.error('usage: raw-read.ts <bootstrap> <topic> [group] [maxBuffered]')
  process.exit(2)
}
const bootstrap = bootstrapArg.split(',')
const admin = new KafkaAdmin(bootstrap)
const offsets = await admin.offsets(topic)
await admin.close()
const ends = new Map(offsets.map((o) => [o.partition, o.latest]))
const total = offsets.reduce((s, o) => s + Number(o.latest - o.earliest), 0)
let failure: unknown
let read = 0
let bytes = 0
let firstMs = 0
const member = new GroupMember({
  bootstrap,
  groupId: groupArg ?? `bench-raw-${process.pid}-${Date.now()}`,
  topic,
  clientId: `bench-raw-${process.pid}`,
  sessionTimeoutMs: 10_000,
  maxWaitMs: 200,
  maxBuffered: Number(bufferedArg ?? 40_000),
  onAssignment: (partitions) => {
    for (const p of partitions) member.seek(p, offsets.find((o) => o.partition === p)?.earliest ?? 0n)
  },
  onError: (error) => {
    failure = error
  },
})
await member.start(new Map(offsets.map((o) => [o.partition, o.earliest])))
const next = new Map<number, bigint>()
const done = () => offsets.every((o) => (next.get(o.partition) ?? o.earliest) >= ends.get(o.partition)!)
while (!done()) {
  if (failure !== undefined) throw failure
  const records = await member.poll(20_000, 200)
  if (records.length > 0 && firstMs === 0) firstMs = performance.now()
  for (const r of records) {
    read++
    bytes += r.value.length
    next.set(r.partition, r.offset + 1n)
  }
}
const ms = performance.now()
console.log(JSON.stringify({ records: read, total, bytes, ms, firstMs }))
await member.close()
process.exit(0)
