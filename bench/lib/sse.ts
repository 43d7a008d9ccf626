/** A minimal Server-Sent Events client for `/live`: calls `onEvent` with each event's name and data. */
import http from 'node:http'

export interface SseClient {
  readonly close: () => void
  /** Resolves once the response headers arrived. */
  readonly ready: Promise<void>
}

export function connectSse(
  url: string,
  onEvent: (name: string, data: string, at: number) => void,
): SseClient {
  let buffer = ''
  let req: http.ClientRequest | undefined
  const ready = new Promise<void>((done, fail) => {
    req = http.get(url, { headers: { accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        fail(new Error(`${url}: HTTP ${res.statusCode}`))
        res.resume()
        return
      }
      res.setEncoding('utf8')
      done()
      res.on('data', (chunk: string) => {
        const at = performance.now()
        buffer += chunk
        let end = buffer.indexOf('\n\n')
        while (end >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          let name = 'message'
          const data: string[] = []
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) name = line.slice(6).trim()
            else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
          }
          if (data.length > 0) onEvent(name, data.join('\n'), at)
          end = buffer.indexOf('\n\n')
        }
      })
    })
    req.on('error', fail)
  })
  return { ready, close: () => req?.destroy() }
}
