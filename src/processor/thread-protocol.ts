/**
 * The messages between the processor's thread and an engine thread (engine-worker.ts).
 * Every request but `close` gets one reply with the same `req`, in request order.
 */
import type { ErrorCode } from '../errors/catalogue.ts'
import type { EngineFactorySettings } from './engine-adapter.ts'
import type { EngineOutput } from './engine-handle.ts'
import type { PackedRecords } from './record-pack.ts'

/** What an engine thread is started with (structured-cloned). */
export interface WorkerSettings {
  readonly engine: EngineFactorySettings
  /** A module URL whose `wrap(factory)` wraps the engine factory (tests' fault injection only). */
  readonly wrapModule?: string
}

export type Request =
  | {
      readonly op: 'open'
      readonly id: number
      readonly req: number
      readonly partition: number
      readonly pieces: readonly { readonly key: string; readonly data: Uint8Array }[]
    }
  | {
      readonly op: 'run'
      readonly id: number
      readonly req: number
      readonly pack: PackedRecords
      readonly provisional: boolean
    }
  | {
      readonly op: 'fail'
      readonly id: number
      readonly req: number
      readonly pack: PackedRecords
      readonly detail: string
    }
  | { readonly op: 'close'; readonly id: number }

export type Reply =
  | {
      readonly req: number
      readonly ok: true
      /** The engine's hasPendingOutput() and nextOffset() after the request. */
      readonly pending: boolean
      readonly next: bigint | null
      readonly output: EngineOutput | undefined
    }
  | {
      readonly req: number
      readonly ok: false
      readonly error: {
        readonly name: string
        readonly message: string
        readonly code?: ErrorCode
        readonly retryable?: boolean
      }
    }
