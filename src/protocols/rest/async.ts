import type { FastifyReply, FastifyRequest } from 'fastify'
import type { JobRow } from '../../core/job-service.js'
import { jobJson } from './serialize.js'

/** `Prefer: respond-async` (RFC 7240) asks for a job whatever the size */
export const asksAsync = (request: FastifyRequest) =>
  /(^|[,;\s])respond-async($|[,;\s])/i.test(String(request.headers.prefer ?? ''))

/** 202 with the job's URL: the work goes on in the background, on this instance or any other */
export function accepted(reply: FastifyReply, job: JobRow) {
  return reply
    .code(202)
    .header('location', `/api/v1/jobs/${job.id}`)
    .header('preference-applied', 'respond-async')
    .send({ job: jobJson(job) })
}
