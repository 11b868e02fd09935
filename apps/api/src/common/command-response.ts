import type { FastifyReply } from 'fastify';
import type { CommandOutcome } from '../records/command-executor';

/** The body every command answers with (API.md), plus route-specific fields. */
export interface CommandResponse {
  id: string;
  revision: number;
  position: string;
  [extra: string]: unknown;
}

/**
 * Answers a command: the revision as ETag, a replayed Idempotency-Key flagged in a header,
 * and `{ id, revision, position }` plus `extra` as the body.
 */
export function commandResponse(reply: FastifyReply, outcome: CommandOutcome<unknown>, extra: Record<string, unknown> = {}): CommandResponse {
  void reply.header('ETag', `"${outcome.revision}"`);
  if (outcome.replayed) void reply.header('Idempotent-Replayed', 'true');
  return { id: outcome.id, revision: outcome.revision, position: outcome.position.toString(), ...extra };
}

/** Answers a read of one record: its document with `revision`, and the revision as ETag. */
export function recordResponse<S>(reply: FastifyReply, { state, revision }: { state: S; revision: number }): S & { revision: number } {
  void reply.header('ETag', `"${revision}"`);
  return { ...state, revision };
}
