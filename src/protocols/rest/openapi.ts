import { z } from 'zod'
import type { Route } from './route.js'

/** The OpenAPI 3.1 description, generated from the same route table and schemas that validate requests. */
export function openApiDocument(routes: readonly Route[]) {
  const paths: Record<string, Record<string, unknown>> = {}
  const jsonSchema = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })
  for (const definition of routes) {
    const path = `/api/v1${definition.url.replace(/:(\w+)/g, '{$1}')}`
    const parameters: unknown[] = []
    for (const [where, schema] of [
      ['path', definition.params],
      ['query', definition.query],
    ] as const) {
      if (!schema) continue
      const properties = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] }
      for (const [name, property] of Object.entries(properties.properties ?? {})) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || properties.required?.includes(name),
          schema: property,
        })
      }
    }
    paths[path] ??= {}
    paths[path]![definition.method.toLowerCase()] = {
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
              required: true,
              content: { 'application/json': { schema: jsonSchema(definition.body) } },
            },
          }
        : {}),
      responses: {
        [String(definition.status ?? 200)]: { description: 'Success' },
        default: { description: 'Problem', content: { 'application/problem+json': {} } },
      },
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'trashd REST API', version: '1' },
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
        basic: { type: 'http', scheme: 'basic' },
        session: { type: 'http', scheme: 'bearer', description: 'token from POST /api/v1/sessions' },
      },
    },
    paths,
  }
}
