/**
 * A TCP proxy for fault tests: forwards to a target, and on demand behaves like a network
 * partition (`blackhole`: nothing gets through in either direction, no connection is
 * closed or refused; new connections are accepted but never reach the target) or cuts
 * every connection (`cut`). Like a real partition, what was sent while black-holed
 * arrives once it heals (TCP retransmits), unless a side gave up and closed meanwhile.
 *
 * An `inspector` sees each client-to-target chunk of a connection and may cut it: the Kafka
 * fault test cuts a consumer's connection when it sends a JoinGroup request.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'

interface Link {
  readonly client: Socket
  upstream: Socket | undefined
  /** Chunks held while black-holed: to the target, to the client. */
  readonly toTarget: Buffer[]
  readonly toClient: Buffer[]
  closed: boolean
}

export class TcpProxy {
  readonly #server: Server
  readonly #target: { host: string; port: number }
  readonly #links = new Set<Link>()
  #blackholed = false
  #refusing = false
  /** Makes, for each new connection, a function that sees each chunk its client sends; 'cut' closes that connection at once. */
  inspector: (() => (chunk: Buffer) => 'cut' | undefined) | undefined

  private constructor(server: Server, target: { host: string; port: number }) {
    this.#server = server
    this.#target = target
  }

  /** Starts a proxy on 127.0.0.1 (`port` 0: any free port). */
  static async start(target: { host?: string; port: number }, port = 0): Promise<TcpProxy> {
    const server = createServer()
    const proxy = new TcpProxy(server, { host: target.host ?? '127.0.0.1', port: target.port })
    server.on('connection', (client) => proxy.#accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    return proxy
  }

  get port(): number {
    const address = this.#server.address()
    if (address === null || typeof address === 'string') throw new Error('the proxy is not listening')
    return address.port
  }

  /** Connections open now (through the proxy). */
  get connections(): number {
    return this.#links.size
  }

  get blackholed(): boolean {
    return this.#blackholed
  }

  /** From now on nothing gets through, and nothing is closed (a network partition). */
  blackhole(): void {
    this.#blackholed = true
  }

  /** Forwards again: held data is delivered, held connections reach the target. */
  heal(): void {
    this.#blackholed = false
    this.#refusing = false
    for (const link of this.#links) {
      if (link.upstream === undefined) this.#open(link)
      else this.#flush(link)
    }
  }

  /** Like a stopped server: every connection is closed, and new ones are closed at once, until `heal`. */
  refuse(): void {
    this.#refusing = true
    this.cut()
  }

  /** Closes every connection (both sides see a reset). */
  cut(): void {
    for (const link of [...this.#links]) this.#close(link)
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #accept(client: Socket): void {
    if (this.#refusing) {
      client.destroy()
      return
    }
    const link: Link = { client, upstream: undefined, toTarget: [], toClient: [], closed: false }
    this.#links.add(link)
    client.setNoDelay(true)
    const inspect = this.inspector?.()
    client.on('data', (chunk) => {
      if (inspect?.(chunk) === 'cut') {
        this.#close(link)
        return
      }
      if (this.#blackholed || link.upstream === undefined) link.toTarget.push(chunk)
      else link.upstream.write(chunk)
    })
    // A side that gives up while black-holed: the other learns of it only once healed,
    // as it would after a partition; here the proxy ends both at once, which is the same
    // for the client that closed.
    client.on('close', () => this.#close(link))
    client.on('error', () => this.#close(link))
    if (!this.#blackholed) this.#open(link)
  }

  #open(link: Link): void {
    if (link.closed) return
    const upstream = tcpConnect(this.#target.port, this.#target.host)
    link.upstream = upstream
    upstream.setNoDelay(true)
    upstream.on('connect', () => this.#flush(link))
    upstream.on('data', (chunk) => {
      if (this.#blackholed) link.toClient.push(chunk)
      else link.client.write(chunk)
    })
    upstream.on('close', () => {
      // The target closed: while black-holed the client must not learn it yet.
      if (this.#blackholed) return
      this.#close(link)
    })
    upstream.on('error', () => {
      if (!this.#blackholed) this.#close(link)
    })
  }

  #flush(link: Link): void {
    if (link.closed || this.#blackholed || link.upstream === undefined) return
    if (link.upstream.destroyed) {
      this.#close(link)
      return
    }
    for (const chunk of link.toTarget.splice(0)) link.upstream.write(chunk)
    for (const chunk of link.toClient.splice(0)) link.client.write(chunk)
  }

  #close(link: Link): void {
    if (link.closed) return
    link.closed = true
    this.#links.delete(link)
    link.client.destroy()
    link.upstream?.destroy()
  }
}

/**
 * The API key of each complete Kafka request in a client's chunks (size-prefixed frames:
 * int32 size, then int16 api key). Keeps the partial frame between chunks.
 */
export function kafkaRequestKeys(): (chunk: Buffer) => number[] {
  let pending = Buffer.alloc(0)
  let skip = 0
  return (chunk) => {
    const keys: number[] = []
    let buf = Buffer.concat([pending, chunk])
    if (skip > 0) {
      const n = Math.min(skip, buf.length)
      skip -= n
      buf = buf.subarray(n)
    }
    while (buf.length >= 6) {
      const size = buf.readInt32BE(0)
      keys.push(buf.readInt16BE(4))
      if (buf.length >= 4 + size) buf = buf.subarray(4 + size)
      else {
        skip = 4 + size - buf.length
        buf = Buffer.alloc(0)
      }
    }
    pending = Buffer.from(buf)
    return keys
  }
}
