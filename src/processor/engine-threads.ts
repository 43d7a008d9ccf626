/**
 * Engine threads (PROCESSOR_THREADS > 1, like Kafka Streams' num.stream.threads but with
 * one consumer for all of them): each partition's engine lives on one worker thread, the
 * one with the fewest engines when the partition was opened; threads start as partitions
 * need them, never more than `threads`. The processor's thread keeps Kafka and
 * PostgreSQL and hands each thread its partitions' records, packed into one transferable
 * buffer per batch.
 *
 * A thread that dies (out of memory, a bug in the runtime) rejects every call in flight
 * on it and takes its engines with it: the processor restores them from the committed
 * state, as after an engine that threw, on a new thread.
 */
import { Worker } from 'node:worker_threads'
import type { Logger } from 'pino'
import type { InputRecord, SnapshotChanges, SnapshotPiece } from '../engine/types.ts'
import { RtsaError } from '../errors/catalogue.ts'
import type { EngineFactorySettings } from './engine-adapter.ts'
import type { EngineHandle, EngineHost, EngineOutput } from './engine-handle.ts'
import { packRecords } from './record-pack.ts'
import type { Reply, Request, WorkerSettings } from './thread-protocol.ts'

type Ok = Extract<Reply, { ok: true }>
type Ask = Request extends infer R ? (R extends { req: number } ? Omit<R, 'req'> : never) : never

class EngineThread {
  readonly worker: Worker
  engines = 0
  dead: Error | undefined
  /** Ended on purpose (a stop): its exit is no failure. */
  ending = false
  #req = 0
  readonly #waiting = new Map<number, { resolve: (r: Ok) => void; reject: (e: Error) => void }>()

  constructor(settings: WorkerSettings, log: Logger, index: number) {
    this.worker = new Worker(new URL('./engine-worker.ts', import.meta.url), { workerData: settings })
    // An idle thread must not keep the process alive (a stop closes them anyway).
    this.worker.unref()
    this.worker.on('message', (r: Reply) => {
      const w = this.#waiting.get(r.req)
      if (w === undefined) return
      this.#waiting.delete(r.req)
      if (r.ok) w.resolve(r)
      else {
        const e = r.error
        const error =
          e.code === undefined
            ? Object.assign(new Error(e.message), { name: e.name })
            : new RtsaError(e.code, e.message, { retryable: e.retryable ?? false })
        w.reject(error)
      }
    })
    const die = (error: Error) => {
      if (this.dead !== undefined) return
      this.dead = error
      if (!this.ending)
        log.error(
          { thread: index, err: error.message },
          'an engine thread ended; its partitions are restored',
        )
      for (const w of this.#waiting.values()) w.reject(error)
      this.#waiting.clear()
    }
    this.worker.on('error', die)
    this.worker.on('exit', (code) => die(new Error(`engine thread ${index} exited (code ${code})`)))
  }

  ask(m: Ask, transfer: ArrayBuffer[] = []): Promise<Ok> {
    if (this.dead !== undefined) return Promise.reject(this.dead)
    const req = ++this.#req
    return new Promise<Ok>((resolve, reject) => {
      this.#waiting.set(req, { resolve, reject })
      this.worker.postMessage({ ...m, req }, transfer)
    })
  }

  tell(m: Request): void {
    if (this.dead === undefined) this.worker.postMessage(m)
  }
}

/** Buffers come back as Uint8Arrays: Buffer views of the same bytes (no copy). */
function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength)
}

function revive(o: EngineOutput): EngineOutput {
  const result = {
    ...o.result,
    deadLetters: o.result.deadLetters.map((d) => ({
      ...d,
      key: d.key === null ? null : asBuffer(d.key),
      value: asBuffer(d.value),
    })),
  }
  const snapshot: SnapshotChanges = {
    put: o.snapshot.put.map((p) => ({ key: p.key, data: asBuffer(p.data) })),
    delete: o.snapshot.delete,
  }
  return { result, snapshot }
}

export interface EngineThreadsOptions {
  readonly threads: number
  readonly engine: EngineFactorySettings
  readonly log: Logger
  /** See WorkerSettings.wrapModule. */
  readonly wrapModule?: string
}

export function engineThreads(o: EngineThreadsOptions): EngineHost {
  if (!Number.isInteger(o.threads) || o.threads < 1)
    throw new RtsaError('INTERNAL', `engine threads: ${o.threads} is not a thread count`)
  const settings: WorkerSettings = {
    engine: o.engine,
    ...(o.wrapModule === undefined ? {} : { wrapModule: o.wrapModule }),
  }
  let threads: EngineThread[] = []
  let nextId = 0
  let started = 0

  const pick = (): EngineThread => {
    threads = threads.filter((t) => t.dead === undefined)
    if (threads.length < o.threads) {
      const t = new EngineThread(settings, o.log, started++)
      threads.push(t)
      return t
    }
    return threads.reduce((a, b) => (b.engines < a.engines ? b : a))
  }

  return {
    async open(partition: number, pieces: readonly SnapshotPiece[]): Promise<EngineHandle> {
      const thread = pick()
      const id = nextId++
      thread.engines++
      let closed = false
      let pending = false
      let next: bigint | null = null
      const close = () => {
        if (closed) return
        closed = true
        thread.engines--
        thread.tell({ op: 'close', id })
      }
      const note = (r: Ok): Ok => {
        pending = r.pending
        next = r.next
        return r
      }
      try {
        note(await thread.ask({ op: 'open', id, partition, pieces }))
      } catch (error) {
        close()
        throw error
      }
      const call = async (m: Ask, transfer: ArrayBuffer[]) => {
        if (closed) throw new Error(`the engine of partition ${partition} is closed`)
        const r = note(await thread.ask(m, transfer))
        if (r.output === undefined) throw new RtsaError('INTERNAL', `engine thread: no output for ${m.op}`)
        return revive(r.output)
      }
      return {
        partition,
        run: (records: readonly InputRecord[], provisional: boolean) => {
          const pack = packRecords(partition, records)
          return call({ op: 'run', id, pack, provisional }, [pack.buffer])
        },
        fail: (record: InputRecord, detail: string) => {
          const pack = packRecords(partition, [record])
          return call({ op: 'fail', id, pack, detail }, [pack.buffer])
        },
        hasPendingOutput: () => pending,
        nextOffset: () => next,
        close,
      }
    },
    async close(): Promise<void> {
      const all = threads
      threads = []
      for (const t of all) t.ending = true
      await Promise.all(all.map((t) => t.worker.terminate()))
    },
  }
}
