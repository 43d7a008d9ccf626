/**
 * An engine thread (PROCESSOR_THREADS > 1): holds the engines of the partitions the
 * processor gave it and runs their batches, one message at a time, in the order they
 * came. No I/O here: records arrive packed (record-pack.ts), results go back by
 * postMessage, and the processor's thread does Kafka and PostgreSQL.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { PartitionEngine, SnapshotPiece } from '../engine/types.ts'
import { isRtsaError } from '../errors/catalogue.ts'
import { createEngineFactory, type EngineFactory } from './engine-adapter.ts'
import type { EngineOutput } from './engine-handle.ts'
import { unpackRecords } from './record-pack.ts'
import type { Reply, Request, WorkerSettings } from './thread-protocol.ts'

const port = parentPort
if (port === null) throw new Error('engine-worker.ts runs as a worker thread')
const settings = workerData as WorkerSettings

let factory: EngineFactory = createEngineFactory(settings.engine)
// The tests' fault injection: a module whose `wrap` wraps the factory (as inline engines are).
if (settings.wrapModule !== undefined) {
  const mod = (await import(settings.wrapModule)) as { wrap: (f: EngineFactory) => EngineFactory }
  factory = mod.wrap(factory)
}

const engines = new Map<number, PartitionEngine>()

function engineOf(id: number): PartitionEngine {
  const e = engines.get(id)
  if (e === undefined) throw new Error(`engine ${id} is closed`)
  return e
}

/** Buffers cross as Uint8Arrays: views of them as Buffers again, for the engine. */
const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

function reply(req: number, e: PartitionEngine, output?: EngineOutput): void {
  const r: Reply = { req, ok: true, pending: e.hasPendingOutput(), next: e.nextOffset(), output }
  port!.postMessage(r)
}

function handle(m: Request): void {
  switch (m.op) {
    case 'open': {
      const pieces: SnapshotPiece[] = m.pieces.map((p) => ({ key: p.key, data: asBuffer(p.data) }))
      const e = factory(m.partition, pieces)
      engines.set(m.id, e)
      reply(m.req, e)
      return
    }
    case 'run': {
      const e = engineOf(m.id)
      const result = e.process(unpackRecords(m.pack), { provisional: m.provisional })
      reply(m.req, e, { result, snapshot: e.snapshotChanges() })
      return
    }
    case 'fail': {
      const e = engineOf(m.id)
      const [record] = unpackRecords(m.pack)
      const result = e.fail(record!, m.detail)
      reply(m.req, e, { result, snapshot: e.snapshotChanges() })
      return
    }
    case 'close':
      engines.delete(m.id)
      return
  }
}

port.on('message', (m: Request) => {
  try {
    handle(m)
  } catch (error) {
    // The engine that threw may be half-changed: the processor closes it and opens another.
    const r: Reply = {
      req: m.op === 'close' ? -1 : m.req,
      ok: false,
      error: {
        name: error instanceof Error ? error.name : 'Error',
        message: error instanceof Error ? error.message : String(error),
        ...(isRtsaError(error) ? { code: error.code, retryable: error.retryable } : {}),
      },
    }
    port.postMessage(r)
  }
})
