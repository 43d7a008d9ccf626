/**
 * The partitions of one processor: which ones the group assigned, and for each one this
 * instance works on, where it is in its life. One slot per claim; a slot never comes
 * back from `dropped` (a partition claimed again gets a new slot), so a stale callback
 * that holds an old slot cannot touch the new one.
 *
 *   (assigned) ──claim──▶ claiming ──ok──▶ owned ──batch──▶ committing ──ok──▶ owned
 *                            │               │                  │
 *                            └── revoked, ───┴── revoked, ──────┴── fenced, stopping ──▶ dropped
 *                                failed          fenced
 *
 * Transitions are checked: any other is a bug (INTERNAL).
 */
import { RtsaError } from '../errors/catalogue.ts'
import type { EngineHandle } from './engine-handle.ts'

export type SlotState = 'claiming' | 'owned' | 'committing' | 'dropped'

const NEXT: Readonly<Record<SlotState, readonly SlotState[]>> = {
  claiming: ['owned', 'dropped'],
  owned: ['committing', 'dropped'],
  committing: ['owned', 'dropped'],
  dropped: [],
}

/** One partition this instance claims or owns. */
export class Slot {
  readonly partition: number
  #state: SlotState = 'claiming'
  /** Set once claimed. */
  epoch = 0
  /** Set once claimed; replaced by one restored from the committed state when processing threw; closed when dropped. */
  engine: EngineHandle | undefined
  /** The commit in flight (state committing). */
  commit: Promise<void> | undefined
  /** A flush batch whose engine call is in flight (its commit is `commit` once it starts). */
  work: Promise<void> | undefined
  /** Where the claim started reading (the checkpoint, or the starting offset of a new partition). */
  start = 0n
  /**
   * Since when (epoch ms) it has waited for the store without success: set when a claim,
   * commit or reload starts, kept while it fails and is retried, cleared once one goes
   * through. A call that hangs (a black-holed database) counts from its start.
   */
  waitingSince: number | undefined
  /** When (epoch ms) a batch last wrote provisional and state rows (PROVISIONAL_INTERVAL); 0: never. */
  lastProvisionalAt = 0
  /** Flush commits made at the current checkpoint offset (BatchCommit.flushSeq). */
  flushSeq = 0

  constructor(partition: number) {
    this.partition = partition
  }

  get state(): SlotState {
    return this.#state
  }

  /** Holds the partition: claimed or committing (its figures are ours to report). */
  get held(): boolean {
    return this.#state === 'owned' || this.#state === 'committing'
  }

  to(next: SlotState): void {
    if (!NEXT[this.#state].includes(next)) {
      throw new RtsaError('INTERNAL', `partition ${this.partition}: no transition ${this.#state} -> ${next}`)
    }
    this.#state = next
  }
}

export class PartitionTable {
  #assigned = new Set<number>()
  readonly #slots = new Map<number, Slot>()
  /** The broker's end offset of each partition at the last look (for lag). */
  readonly ends = new Map<number, bigint>()

  /** The group's new assignment. Returns the slots it took away (the caller drops them). */
  assign(partitions: readonly number[]): Slot[] {
    this.#assigned = new Set(partitions)
    return [...this.#slots.values()].filter((s) => !this.#assigned.has(s.partition))
  }

  isAssigned(partition: number): boolean {
    return this.#assigned.has(partition)
  }

  /** Assigned partitions without a slot: the ones to claim. */
  unclaimed(): number[] {
    return [...this.#assigned].filter((p) => !this.#slots.has(p)).sort((a, b) => a - b)
  }

  /** A new slot for an assigned partition that has none. */
  startClaim(partition: number): Slot {
    if (!this.#assigned.has(partition) || this.#slots.has(partition)) {
      throw new RtsaError('INTERNAL', `partition ${partition} cannot be claimed now`)
    }
    const slot = new Slot(partition)
    this.#slots.set(partition, slot)
    return slot
  }

  /** The slot of a partition, if any. */
  get(partition: number): Slot | undefined {
    return this.#slots.get(partition)
  }

  /** Drops a slot (once) and closes its engine; the partition can be claimed again. Returns false when it was no longer current. */
  drop(slot: Slot): boolean {
    if (slot.state === 'dropped') return false
    slot.to('dropped')
    slot.engine?.close()
    if (this.#slots.get(slot.partition) === slot) this.#slots.delete(slot.partition)
    return true
  }

  /** Slots that hold their partition (owned or committing), by partition. */
  held(): Slot[] {
    return [...this.#slots.values()].filter((s) => s.held).sort((a, b) => a.partition - b.partition)
  }

  /** Every slot, whatever its state. */
  all(): Slot[] {
    return [...this.#slots.values()]
  }

  /** Forgets everything (the connection is gone). */
  clear(): Slot[] {
    const slots = [...this.#slots.values()]
    for (const s of slots) this.drop(s)
    this.#assigned = new Set()
    return slots
  }
}
