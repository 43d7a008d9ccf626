/**
 * Parallel simulate mode: the model runs in a worker thread (worker.ts) and the main
 * thread only hands its packed records to the sink. On 2 cores this roughly doubles
 * the rate into Kafka, since the Kafka client and the model each get a core. The
 * records are exactly those of the single-threaded path (same seed, same bytes, same
 * order): the worker runs the same RecordSource.
 */
import { Worker } from 'node:worker_threads'
import { RtsaError } from '../errors/catalogue.ts'
import type { FaultKind, FaultRates } from './faults.ts'
import type { ModelOptions } from './model.ts'

/** What the worker generates (plain data: it crosses the thread boundary). */
export interface WorkerJob {
  readonly model: Omit<ModelOptions, 'tuning'> & { readonly seed: string }
  readonly faults?: FaultRates
  /** Stop before the first record emitted at or after this time (epoch µs; Infinity: never). */
  readonly endMicros: number
  /** Stop after this many records (Infinity: never). */
  readonly limit: number
  readonly chunkSize: number
}

/** A chunk as the worker posts it (buffers are transferred, not copied). */
export interface ChunkMessage {
  readonly type: 'chunk'
  readonly count: number
  readonly values: ArrayBuffer
  readonly offsets: ArrayBuffer
  readonly keys: ArrayBuffer
  readonly lastEmitMicros: number
  readonly audience: number
  readonly liveStreams: number
  readonly faults: Readonly<Record<FaultKind, number>>
  readonly done: boolean
}

/** A received chunk: record i is `keys[i]` / `values[i]` (views into one buffer). */
export interface RecordChunk {
  readonly keys: (Buffer | null)[]
  readonly values: Buffer[]
  readonly lastEmitMicros: number
  readonly audience: number
  readonly liveStreams: number
  readonly faults: Readonly<Record<FaultKind, number>>
}

/**
 * Runs `job` in a worker thread and yields its records chunk by chunk, in order.
 * At most `prefetch` chunks are generated ahead of the consumer. Breaking out of the
 * loop (or an error) stops the worker.
 */
export async function* generateInWorker(job: WorkerJob, prefetch = 4): AsyncGenerator<RecordChunk> {
  const keyBuffers = job.model.streamIds.map((id) => Buffer.from(id, 'utf8'))
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: job })
  const queue: ChunkMessage[] = []
  let failure: unknown
  let exited = false
  let wake: (() => void) | undefined
  const notify = () => {
    wake?.()
    wake = undefined
  }
  worker.on('message', (m: ChunkMessage) => {
    queue.push(m)
    notify()
  })
  worker.on('error', (error) => {
    failure = error
    notify()
  })
  worker.on('exit', (code) => {
    exited = true
    if (code !== 0 && failure === undefined) failure = new Error(`generator worker exited with code ${code}`)
    notify()
  })
  worker.postMessage({ type: 'credit', n: prefetch })
  try {
    for (;;) {
      const m = queue.shift()
      if (m === undefined) {
        if (failure !== undefined) {
          throw new RtsaError('PROCESS_FAILED', `the generator worker failed: ${String(failure)}`, {
            cause: failure,
          })
        }
        if (exited) throw new RtsaError('PROCESS_FAILED', 'the generator worker stopped before it was done')
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        continue
      }
      if (!m.done) worker.postMessage({ type: 'credit', n: 1 })
      const values = Buffer.from(m.values)
      const offsets = new Int32Array(m.offsets)
      const keys = new Int32Array(m.keys)
      const chunk: RecordChunk = {
        keys: Array.from({ length: m.count }, (_, i) => keyBuffers[keys[i]!] ?? null),
        values: Array.from({ length: m.count }, (_, i) => values.subarray(offsets[i]!, offsets[i + 1]!)),
        lastEmitMicros: m.lastEmitMicros,
        audience: m.audience,
        liveStreams: m.liveStreams,
        faults: m.faults,
      }
      if (m.count > 0) yield chunk
      if (m.done) return
    }
  } finally {
    worker.postMessage({ type: 'stop' })
    await worker.terminate()
  }
}
