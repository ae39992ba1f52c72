import { z } from 'zod'
import { problemSchema } from './responses.js'
import type { Route } from './route.js'

type JsonSchema = Record<string, unknown>

/** A zod schema as JSON Schema (2020-12, what OpenAPI 3.1 uses): its `input` side is the JSON on the wire. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const {
    $schema: _draft,
    id: _id,
    ...rest
  } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema
  return rest
}

const PROBLEM = { $ref: '#/components/schemas/Problem' }

/** The problem answers a route can give, by status, from what the router checks before the handler runs. */
const PROBLEMS: Record<string, string> = {
  '401': 'Credentials missing or wrong (a user route also challenges with WWW-Authenticate)',
  '403': 'Refused: a cross-site request, or the user lacks the right',
  '404': 'Not found (or not visible to the user)',
  '409': 'Conflict with the state of the item (see `code`)',
  '413': 'The upload is larger than UPLOAD_MAX_BYTES',
  '415': 'The body is not JSON',
  '422': 'The request does not match the schema (`errors` lists where)',
  '429': 'Too many failed sign-ins (Retry-After says when to try again)',
}

function problemsOf(definition: Route): string[] {
  const statuses = new Set<string>()
  if (definition.auth !== 'none' || definition.url === '/sessions') statuses.add('401')
  if (definition.method !== 'GET' || definition.auth === 'user') statuses.add('403')
  if (definition.params) statuses.add('404')
  if (definition.auth === 'user' && definition.method !== 'GET') statuses.add('409')
  if (definition.raw) statuses.add('413')
  if (definition.body) statuses.add('415')
  if (definition.params || definition.query || definition.body) statuses.add('422')
  if (definition.auth === 'user' || definition.url === '/sessions') statuses.add('429')
  return Object.keys(PROBLEMS).filter((status) => statuses.has(status))
}

const IDEMPOTENCY_KEY_PARAMETER = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'A key of your choice (1 to 255 visible ASCII characters, e.g. a UUID). A retry with the same key and the same ' +
    'request gets the first answer (with Idempotent-Replayed: true) and changes nothing again, for 24 hours; the ' +
    'key with another request is refused (422), and while the first request is still being answered (409).',
  schema: { type: 'string', minLength: 1, maxLength: 255 },
}

const TAGS = [
  { name: 'admin', description: 'Administration with Authorization: Bearer ADMIN_TOKEN' },
  { name: 'session', description: 'Sign in and out' },
  {
    name: 'trash',
    description: 'The trash as a signed-in user sees it (HTTP Basic login:password, or a session token)',
  },
]

/**
 * The OpenAPI 3.1 description, generated from the same route table and zod schemas that validate requests and
 * describe answers. `serverUrl`: where clients reach this server (PUBLIC_URL, or the request's own origin).
 */
export function openApiDocument(routes: readonly Route[], serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const definition of routes) {
    const path = `/api/v1${definition.url.replace(/:(\w+)/g, '{$1}')}`
    const parameters: unknown[] = []
    for (const [where, schema] of [
      ['path', definition.params],
      ['query', definition.query],
    ] as const) {
      if (!schema) continue
      const properties = jsonSchema(schema, 'input') as {
        properties?: Record<string, unknown>
        required?: string[]
      }
      for (const [name, property] of Object.entries(properties.properties ?? {})) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || properties.required?.includes(name) === true,
          schema: property,
        })
      }
    }
    if (definition.idempotent) parameters.push(IDEMPOTENCY_KEY_PARAMETER)
    const success: Record<string, unknown> = {
      [String(definition.status ?? 200)]:
        definition.response === 'text/event-stream'
          ? {
              description: 'Server-Sent Events',
              content: { 'text/event-stream': { schema: { type: 'string' } } },
            }
          : {
              description: 'Success',
              content: { 'application/json': { schema: jsonSchema(definition.response, 'input') } },
            },
    }
    for (const [status, schema] of Object.entries(definition.otherResponses ?? {})) {
      success[status] = {
        description: 'Success',
        content: { 'application/json': { schema: jsonSchema(schema, 'input') } },
      }
    }
    const problems = Object.fromEntries(
      problemsOf(definition).map((status) => [status, { $ref: `#/components/responses/Problem${status}` }]),
    )
    paths[path] ??= {}
    paths[path]![definition.method.toLowerCase()] = {
      operationId: definition.operationId,
      summary: definition.summary,
      tags: [definition.tag],
      security:
        definition.auth === 'admin'
          ? [{ adminToken: [] }]
          : definition.auth === 'user'
            ? [{ basic: [] }, { session: [] }]
            : [],
      parameters,
      ...(definition.raw
        ? {
            requestBody: {
              required: true,
              content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
            },
          }
        : {}),
      ...(definition.body
        ? {
            requestBody: {
              // a body that may be left out is an optional schema (POST /cleanup/run, POST /trash/{id}/restore)
              required: !definition.body.safeParse(undefined).success,
              content: { 'application/json': { schema: jsonSchema(definition.body, 'input') } },
            },
          }
        : {}),
      responses: {
        ...success,
        ...problems,
        default: { $ref: '#/components/responses/Problem' },
      },
    }
  }
  const problemResponse = (description: string) => ({
    description,
    content: { 'application/problem+json': { schema: PROBLEM } },
  })
  return {
    openapi: '3.1.0',
    info: {
      title: 'trashd REST API',
      version: '1',
      description:
        'The trash of every door (Scene7 IPS, infoRouter srv.asmx, WoodWing Enterprise) as JSON. Errors are RFC 9457 problem documents.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: serverUrl }],
    tags: TAGS,
    paths,
    components: {
      schemas: { Problem: jsonSchema(problemSchema, 'input') },
      responses: {
        Problem: problemResponse('An error (server errors never carry internals)'),
        ...Object.fromEntries(
          Object.entries(PROBLEMS).map(([status, description]) => [
            `Problem${status}`,
            problemResponse(description),
          ]),
        ),
      },
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
        basic: { type: 'http', scheme: 'basic' },
        session: { type: 'http', scheme: 'bearer', description: 'token from POST /api/v1/sessions' },
      },
    },
  }
}
