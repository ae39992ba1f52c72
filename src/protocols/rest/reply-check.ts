import { problemSchema } from './responses.js'
import type { Route } from './route.js'

/**
 * What is wrong with an answer the router is about to send, against the schema the OpenAPI document gives for
 * its status (a problem document for 4xx and 5xx); null when it matches or is not JSON (an event stream, a
 * file). Checks the serialised bytes, the way clients read them: the answer itself is never changed.
 */
export function replyMismatch(
  definition: Route,
  status: number,
  contentType: string,
  payload: unknown,
): string | null {
  if (typeof payload !== 'string' || !/^application\/([\w.-]+\+)?json/i.test(contentType)) return null
  const schema =
    status >= 400
      ? problemSchema
      : status === (definition.status ?? 200)
        ? definition.response
        : definition.otherResponses?.[status]
  if (schema === undefined || schema === 'text/event-stream') {
    return `${definition.method} ${definition.url} answered ${status} with JSON, which its description does not list`
  }
  let body: unknown
  try {
    body = JSON.parse(payload)
  } catch {
    return `${definition.method} ${definition.url} answered ${status} with a body that is not JSON`
  }
  const checked = schema.safeParse(body)
  if (checked.success) return null
  const issues = checked.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
  return `${definition.method} ${definition.url} answered ${status} unlike its description: ${issues.join('; ')}`
}
