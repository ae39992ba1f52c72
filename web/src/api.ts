/** The REST door as the page uses it: a bearer session token, JSON in and out, problems as ApiError. */

export interface Me {
  id: number
  tenantId: number
  login: string
  displayName: string | null
  admin: boolean
}

export interface TrashEntry {
  id: number
  kind: 'folder' | 'file'
  type: string
  name: string
  originalPath: string | null
  size: number
  items: number
  state: 'trashed' | 'emptied'
  deletedAt: string
  deletedBy: { id: number | null; login: string | null; name: string | null }
  expiresAt: string | null
  brand: { id: number; name: string | null } | null
  legalHold: boolean
  purgeError: string | null
  mayRestore: boolean
  mayPurge: boolean
}

export interface TrashPage {
  total: number
  items: TrashEntry[]
  nextCursor: string | null
}

export interface Facets {
  brands: { id: number; name: string }[]
  deleters: { id: number; login: string; name: string | null }[]
  types: string[]
}

/** A bulk job (an undo, or a restore or permanent delete of many items) as GET /api/v1/jobs/:id answers it. */
export interface Job {
  id: string
  kind: 'undo' | 'restore' | 'empty' | 'purge'
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'
  total: number
  done: number
  outcomes: { ok: number; warning: number; error: number }
  skippedCount: number
  error: string | null
}

export interface ItemResult {
  id: number
  status: 'ok' | 'warning' | 'error'
  code?: string
  message?: string
  name?: string
  renamedTo?: string
  affected?: number
}

export interface BatchResult {
  successCount: number
  warningCount: number
  errorCount: number
  results: ItemResult[]
}

export interface EmptyBinResult {
  purged: number
  errorCount: number
  failed: ItemResult[]
}

/** What the server offers beyond the trash API (endpoints other parts of trashd may add). */
export interface Features {
  events: boolean
  cleanupRuns: boolean
  cleanupPlan: boolean
}

export type SortColumn = 'name' | 'path' | 'type' | 'size' | 'deletedAt' | 'deletedBy' | 'brand' | 'expiresAt'

export interface TrashQuery {
  scope: 'own' | 'visible'
  name?: string
  deletedBy?: string
  type?: string
  brandId?: string
  from?: string
  to?: string
  sort: SortColumn
  direction: 'asc' | 'desc'
  limit: number
  cursor?: string
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

export class Api {
  constructor(private token: string | null) {}

  get signedIn() {
    return this.token !== null
  }

  get authorization(): string | null {
    return this.token === null ? null : `Bearer ${this.token}`
  }

  private async call<T>(
    method: string,
    url: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders }
    if (this.token) headers.authorization = `Bearer ${this.token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    const json = text ? (JSON.parse(text) as Record<string, unknown>) : {}
    if (!response.ok) {
      const detail = typeof json.detail === 'string' ? json.detail : response.statusText
      throw new ApiError(response.status, detail, typeof json.code === 'string' ? json.code : undefined)
    }
    return json as T
  }

  async signIn(login: string, password: string): Promise<{ token: string; user: Me }> {
    const session = await this.call<{ token: string; user: Me }>('POST', '/api/v1/sessions', {
      login,
      password,
    })
    this.token = session.token
    return session
  }

  async signOut() {
    if (this.token) await this.call('DELETE', '/api/v1/sessions').catch(() => undefined)
    this.token = null
  }

  me() {
    return this.call<Me>('GET', '/api/v1/me')
  }

  features() {
    return this.call<Features>('GET', '/web/features.json')
  }

  trash(query: TrashQuery) {
    const params = new URLSearchParams()
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== '') params.set(key, String(value))
    }
    return this.call<TrashPage>('GET', `/api/v1/trash?${params}`)
  }

  /** How many units the user's own bin holds (what "Empty my bin" deletes). */
  async ownBinCount() {
    const page = await this.call<TrashPage>('GET', '/api/v1/trash?scope=own&state=any&limit=1')
    return page.total
  }

  facets(scope: 'own' | 'visible') {
    return this.call<Facets>('GET', `/api/v1/trash/filters?scope=${scope}`)
  }

  /** a restore or purge of many items (a folder of more than JOB_THRESHOLD) answers with a job */
  restore(ids: number[]) {
    return this.call<BatchResult | { job: Job }>('POST', '/api/v1/trash/restore', {
      ids,
      onMissingParent: 'recreate',
    })
  }

  purge(ids: number[]) {
    return this.call<BatchResult | { job: Job }>('POST', '/api/v1/trash/purge', { ids })
  }

  emptyBin() {
    return this.call<EmptyBinResult>('POST', '/api/v1/bin/empty')
  }

  undoPreview<T>(operationId: string) {
    return this.call<T>('GET', `/api/v1/operations/${encodeURIComponent(operationId)}/undo/preview`)
  }

  /** A retry after a lost answer (the same key) is answered with the first undo's result, never undone twice. */
  undo<T>(operationId: string, idempotencyKey: string) {
    return this.call<T>('POST', `/api/v1/operations/${encodeURIComponent(operationId)}/undo`, undefined, {
      'idempotency-key': idempotencyKey,
    })
  }

  get<T>(url: string) {
    return this.call<T>('GET', url)
  }
}
