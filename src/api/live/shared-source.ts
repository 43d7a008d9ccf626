/**
 * One commit source, several subscribers: the response cache and the `/live` hub share
 * the API's single LISTEN connection. The underlying source starts with the first
 * subscriber; one that subscribes while it is connected gets an `onResync` at once.
 */
import type { CommitNotice } from '../../store/commit-notice.ts'
import type { CommitHandlers, CommitSource } from './listener.ts'

export class SharedCommitSource implements CommitSource {
  readonly #source: CommitSource
  readonly #subscribers: CommitHandlers[] = []
  #started = false
  #connected = false
  #closed = false

  constructor(source: CommitSource) {
    this.#source = source
  }

  /** Adds a subscriber (each `start` call is one). */
  start(handlers: CommitHandlers): void {
    if (this.#closed) return
    this.#subscribers.push(handlers)
    if (this.#connected) queueMicrotask(() => handlers.onResync())
    if (this.#started) return
    this.#started = true
    this.#source.start({
      onNotice: (n: CommitNotice) => {
        for (const s of this.#subscribers) s.onNotice(n)
      },
      onResync: () => {
        this.#connected = true
        for (const s of this.#subscribers) s.onResync()
      },
      onLost: () => {
        this.#connected = false
        for (const s of this.#subscribers) s.onLost?.()
      },
    })
  }

  /** Closes the underlying source (once, whoever asks first). */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#connected = false
    await this.#source.close()
  }
}
