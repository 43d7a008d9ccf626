/**
 * Worker-thread entry of the parallel simulate mode (see parallel.ts): runs the model
 * and the fault stage, and ships records to the main thread in packed chunks (one
 * UTF-8 buffer of values, byte offsets and key indices, transferred without copying),
 * so the main thread spends its time in the Kafka client only. Generates ahead only as
 * far as the main thread grants credits (one credit = one chunk): bounded memory.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { NO_FAULTS, RecordSource } from './faults.ts'
import { EventModel } from './model.ts'
import type { ChunkMessage, WorkerJob } from './parallel.ts'

const job = workerData as WorkerJob
const port = parentPort!
const model = new EventModel({ ...job.model })
const source = new RecordSource(model, job.faults ?? NO_FAULTS, job.model.seed)
const keyIndex = new Map(job.model.streamIds.map((id, i) => [id, i]))

let produced = 0
let finished = false
let credits = 0

function nextChunk(): ChunkMessage {
  const max = Math.min(job.chunkSize, job.limit - produced)
  const keys = new Int32Array(max)
  const offsets = new Int32Array(max + 1)
  let values = Buffer.from(new ArrayBuffer(max * 256))
  let bytes = 0
  let n = 0
  let lastEmitMicros = -1
  while (n < max && source.peekMicros() < job.endMicros) {
    const r = source.next()
    if (r.emitMicros >= job.endMicros) break
    // Worst case 3 bytes per UTF-16 unit; grow (rarely) before writing.
    if (bytes + r.value.length * 3 > values.length) {
      const bigger = Buffer.from(new ArrayBuffer(Math.max(values.length * 2, bytes + r.value.length * 3)))
      values.copy(bigger, 0, 0, bytes)
      values = bigger
    }
    bytes += values.write(r.value, bytes, 'utf8')
    keys[n] = keyIndex.get(r.key) ?? -1
    n++
    offsets[n] = bytes
    lastEmitMicros = r.emitMicros
  }
  produced += n
  finished = n < max || produced >= job.limit || source.peekMicros() >= job.endMicros
  return {
    type: 'chunk',
    count: n,
    values: values.buffer as ArrayBuffer,
    offsets: offsets.buffer,
    keys: keys.buffer,
    lastEmitMicros,
    audience: model.audience,
    liveStreams: model.liveStreams,
    faults: { ...source.counts },
    done: finished,
  }
}

function pump(): void {
  while (credits > 0 && !finished) {
    credits--
    const chunk = nextChunk()
    port.postMessage(chunk, [chunk.values, chunk.offsets, chunk.keys])
  }
}

port.on('message', (m: { type: 'credit'; n: number } | { type: 'stop' }) => {
  if (m.type === 'stop') {
    finished = true
    port.close()
    return
  }
  credits += m.n
  pump()
})
