/**
 * What an admin call reports: its audit event, unexpected errors, and the response an error becomes.
 * @module
 */
import { renderDeny } from '../decision.js'
import { INVALID_OPTION } from '../errors.js'
import type { DenyDecision } from '../types.js'
import { fieldOf, NOT_FOUND, Problem, problem } from './_http.js'
import type { AdminSettings } from './_handler-options.js'
import type { AdminAuditEvent, AdminAuditOutcome } from './handler.js'

function isValidation(e: unknown): e is TypeError | RangeError {
  return (e instanceof TypeError || e instanceof RangeError) && (e as { code?: unknown }).code === INVALID_OPTION
}

export function outcomeOf(status: number): AdminAuditOutcome {
  if (status < 400) return 'success'
  if (status === 401 || status === 403 || status === 429) return 'denied'
  if (status === 404) return 'not_found'
  if (status === 409) return 'conflict'
  if (status < 500) return 'invalid'
  return 'error'
}

/** A deny decision as the response the adapters would send. */
export function denyResponse(decision: DenyDecision): Response {
  const { status, headers, body } = renderDeny(decision)
  return new Response(body, { status, headers })
}

/** The reporting functions of one handler. */
export interface Reporter {
  readonly audit: (event: AdminAuditEvent, method: string) => Promise<void>
  readonly unexpectedQuietly: (e: unknown) => void
  readonly unexpected: (e: unknown) => Response
  readonly errorResponse: (e: unknown) => Response
}

/** The reporting functions over the handler's `onAudit`, `onError` and `auditStore`. */
export function reporter({ onAudit, onError, auditStore }: Pick<AdminSettings, 'onAudit' | 'onError' | 'auditStore'>): Reporter {
  async function audit(event: AdminAuditEvent, method: string): Promise<void> {
    // Only calls of an authenticated key: anonymous refusals go to `onAudit` alone, so nobody
    // without a key can push a bounded trail's real entries out.
    if (auditStore !== undefined && event.actor !== undefined && (method !== 'GET' || event.outcome !== 'success')) {
      try {
        await auditStore.append(event)
      } catch (e) {
        // The trail's failure is reported, and must not change the answer either.
        unexpectedQuietly(e)
      }
    }
    if (!onAudit) return
    try {
      onAudit(event)
    } catch {
      // An audit sink's failure must not change the answer.
    }
  }

  function unexpectedQuietly(e: unknown): void {
    try {
      onError?.(e)
    } catch {
      // Reporting must never turn into a crash.
    }
  }

  function unexpected(e: unknown): Response {
    try {
      onError?.(e)
    } catch {
      // Reporting must never turn into a crash.
    }
    return problem(new Problem(500, 'internal_error', 'An unexpected error occurred.'))
  }

  /** Any error of an operation → its response. Only keyward's own validation messages are echoed. */
  function errorResponse(e: unknown): Response {
    if (e instanceof Problem) return problem(e)
    if (isValidation(e)) {
      const field = fieldOf(e.message)
      return problem(new Problem(400, 'invalid_field', e.message, field === undefined ? {} : { field }))
    }
    const code = e instanceof Error ? (e as { code?: unknown }).code : undefined
    if (code === 'KEYWARD_NOT_FOUND') return problem(NOT_FOUND())
    if (code === 'KEYWARD_CONFLICT') return problem(new Problem(409, 'conflict', 'The request conflicts with the current state; reload and retry.'))
    return unexpected(e)
  }

  return { audit, unexpectedQuietly, unexpected, errorResponse }
}
