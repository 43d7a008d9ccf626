/**
 * Where the memory of present viewers goes, in one process: the memory benchmark's input
 * (a join and a heartbeat per viewer, 500 streams) through one engine, as the processor
 * feeds it (batches of 20,000, snapshotChanges() after each), then the heap + buffers
 * the engine holds, per present viewer, with the engine's own counts. Event ids are
 * random UUIDs (as the memory benchmark's default), `plain` as third argument for short ones;
 * the engine runs with retainLog false, as the processor runs it.
 *
 *   npx node --expose-gc bench/lib/state-breakdown.ts [viewers=1000000] [uuid|plain]
 */
import { randomUUID } from 'node:crypto'
import { createPartitionEngine } from '../../src/engine/index.ts'
import type { DecodedRecord } from '../../src/engine/types.ts'
import { decodeEvent, encodeEvent } from '../../src/events/decode.ts'

const viewers = Number(process.argv[2] ?? 1_000_000)
const plain = process.argv[3] === 'plain'
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with --expose-gc')
const T0 = Date.UTC(2025, 11, 20, 18, 0, 0)
const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00')
const used = () => {
  gc()
  gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, buffers: m.arrayBuffers, rss: m.rss }
}
const before = used()
const engine = createPartitionEngine(
  { windowMs: 60_000, watermarkMs: 600_000, viewerTimeoutMs: 300_000 },
  0,
  {
    decode: decodeEvent,
    retainLog: false,
  },
)
let batch: DecodedRecord[] = []
let offset = 0n
let snapshotBytes = 0
const flush = () => {
  engine.processEvents(batch)
  for (const p of engine.snapshotChanges().put) snapshotBytes += p.data.length
  batch = []
}
for (const phase of ['viewer_join', 'heartbeat'] as const) {
  const base = phase === 'viewer_join' ? T0 : T0 + 60_000
  for (let i = 0; i < viewers; i++) {
    const value = encodeEvent({
      event_id: plain ? `v-${phase === 'viewer_join' ? 'j' : 'h'}-${i}` : randomUUID(),
      ts: iso(base + Math.floor((i / viewers) * 60_000)),
      event_type: phase,
      stream_id: `stream_${1001 + (i % 500)}`,
      user_id: `user_${i + 1}`,
    })
    const d = decodeEvent(value)
    if (!d.ok) throw new Error('bad record')
    batch.push({ offset: offset++, event: d.event, value })
    if (batch.length >= 20_000) flush()
  }
}
flush()
const after = used()
const s = engine.stats()
const per = (b: number) => Math.round(b / s.presentUsers)
console.log(
  JSON.stringify({
    viewers,
    presentUsers: s.presentUsers,
    users: s.users,
    dedupIds: s.dedupIds,
    pendingRecords: s.pendingRecords,
    openWindows: s.openWindows,
    heapBytesPerViewer: per(after.heap - before.heap),
    bufferBytesPerViewer: per(after.buffers - before.buffers),
    rssMiB: Math.round(after.rss / 1048576),
    heapMiB: Math.round((after.heap - before.heap) / 1048576),
    buffersMiB: Math.round((after.buffers - before.buffers) / 1048576),
    snapshotChangeMiB: Math.round(snapshotBytes / 1048576),
  }),
)
