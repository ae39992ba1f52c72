import { basicAuth, type Fixture, type TestServer } from './server.js'

/**
 * A JSON client of the REST door (/api/v1) acting as one of the fixture's users by role, with basic auth; its
 * answer holds the status, the body parsed (null when empty) and as text, and the headers. The server and
 * fixture are read when a request is made (they are set up in a beforeAll).
 */
export function restApi(server: () => TestServer, fx: () => Fixture) {
  return async (
    role: string,
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(`${server().baseUrl}/api/v1${url}`, {
      method,
      headers: {
        authorization: basicAuth(fx().users[role]!),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await response.text()
    return { status: response.status, json: text ? JSON.parse(text) : null, text, headers: response.headers }
  }
}

export type RestApi = ReturnType<typeof restApi>

/**
 * A script's request to the app, injected (no socket): a state-changing call without a body says so with
 * X-Requested-With (the CSRF rule); the answer's status, JSON body and headers. The server is read when a request
 * is made (it is set up in a beforeAll).
 */
export function scriptCall(server: () => TestServer) {
  return async (method: string, url: string, options: { auth?: string; body?: unknown } = {}) => {
    const response = await server().app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(options.auth ? { authorization: options.auth } : {}),
        ...(options.body === undefined && method !== 'GET' ? { 'x-requested-with': 'trashd-test' } : {}),
      },
      ...(options.body !== undefined ? { payload: options.body as object } : {}),
    })
    return { status: response.statusCode, body: response.json(), headers: response.headers }
  }
}
