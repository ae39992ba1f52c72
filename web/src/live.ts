/**
 * Follows GET /api/v1/events (Server-Sent Events) with fetch, because EventSource cannot send the bearer token.
 * Every event calls onEvent; the stream resumes with Last-Event-ID after a drop.
 */
export interface LiveOptions {
  url: string
  authorization: () => string | null
  onEvent: (event: { id: string | null; type: string; data: string }) => void
  onState: (state: 'connecting' | 'live' | 'retrying') => void
}

export class LiveStream {
  private controller: AbortController | null = null
  private lastEventId: string | null = null
  private stopped = true
  private retryDelay = 1000

  constructor(private readonly options: LiveOptions) {}

  start() {
    if (!this.stopped) return
    this.stopped = false
    void this.run()
  }

  stop() {
    this.stopped = true
    this.controller?.abort()
    this.controller = null
  }

  private async run() {
    while (!this.stopped) {
      this.options.onState('connecting')
      try {
        await this.connect()
      } catch {
        // a dropped connection or an abort: retry below unless stopped
      }
      if (this.stopped) return
      this.options.onState('retrying')
      await new Promise((resolve) => setTimeout(resolve, this.retryDelay))
      this.retryDelay = Math.min(this.retryDelay * 2, 15_000)
    }
  }

  private async connect() {
    const authorization = this.options.authorization()
    if (!authorization) return
    this.controller = new AbortController()
    const headers: Record<string, string> = { accept: 'text/event-stream', authorization }
    if (this.lastEventId) headers['last-event-id'] = this.lastEventId
    const response = await fetch(this.options.url, { headers, signal: this.controller.signal })
    if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`)
    this.options.onState('live')
    this.retryDelay = 1000
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      buffer += value
      let boundary = buffer.search(/\r?\n\r?\n/)
      while (boundary >= 0) {
        const block = buffer.slice(0, boundary)
        buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, '')
        this.dispatch(block)
        boundary = buffer.search(/\r?\n\r?\n/)
      }
    }
  }

  private dispatch(block: string) {
    let type = 'message'
    let id: string | null = null
    const data: string[] = []
    for (const line of block.split(/\r?\n/)) {
      if (line === '' || line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'event') type = value
      else if (field === 'data') data.push(value)
      else if (field === 'id') id = value
      else if (field === 'retry' && /^\d+$/.test(value)) this.retryDelay = Number(value)
    }
    if (id !== null) this.lastEventId = id
    if (data.length === 0 && id === null) return
    this.options.onEvent({ id, type, data: data.join('\n') })
  }
}
