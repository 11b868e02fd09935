import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Problem, problem, PROBLEM_CONTENT_TYPE } from '../common/problem';
import { ApiKey, sha256Hex } from '@crm/runtime/api-keys';
import { accessOf } from './route-roles';

/** Who sends a request, as access control established it. */
export interface Principal {
  /** Stored as `actorId` on the events the request appends. */
  actorId: string;
  /** SHA-256 of the key (rate limits count per key); absent in open mode. */
  keyDigest?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

export const OPEN_MODE_ACTOR = 'anonymous';
const MAX_ACTOR_ID = 100;
const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Authentication and authorisation for every route, before its body is read: the role comes
 * from `ROUTE_ROLES` (deny by default), the key from `Authorization: Bearer`. Without keys (open
 * mode, never in production) every route is allowed and the actor is `X-Actor-Id`.
 */
export function installAccessControl(fastify: FastifyInstance, keys: readonly ApiKey[]): void {
  const byDigest = new Map(keys.map((key) => [key.digest, key]));
  const openMode = keys.length === 0;
  const routes: RegisteredRoute[] = [];
  registeredRoutes.set(fastify, routes);
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, url: route.url });
  });

  fastify.addHook('onRequest', (request, reply, done) => {
    const route = request.routeOptions.url;
    // No route matched: the router answers 404 (problem+json, from the not-found handler).
    if (route === undefined) return done();
    const access = accessOf(request.method, route);
    if (access === undefined) {
      return refuse(reply, problem(403, 'forbidden', 'Forbidden', `No role is declared for ${request.method} ${route}, so it is refused to every caller`));
    }
    if (access === 'open') return done();

    if (openMode) {
      const actorId = headerOf(request, 'x-actor-id') ?? OPEN_MODE_ACTOR;
      if (actorId.length === 0 || actorId.length > MAX_ACTOR_ID) {
        return refuse(
          reply,
          problem(400, 'validation-error', 'The request is not valid', `X-Actor-Id: must be 1 to ${MAX_ACTOR_ID} characters`, {
            errors: [{ field: 'X-Actor-Id', message: `must be 1 to ${MAX_ACTOR_ID} characters` }],
          }),
        );
      }
      request.principal = { actorId };
      return done();
    }

    const authorization = headerOf(request, 'authorization');
    if (authorization === undefined) return unauthorized(reply, 'Send an API key as Authorization: Bearer <key>');
    const bearer = BEARER.exec(authorization);
    if (!bearer) return unauthorized(reply, 'The Authorization scheme must be Bearer: Authorization: Bearer <key>', 'invalid_request');
    const key = byDigest.get(sha256Hex(bearer[1]));
    if (!key) return unauthorized(reply, 'The API key is not known', 'invalid_token');
    if (!key.roles.has(access)) {
      return refuse(reply, problem(403, 'forbidden', 'Forbidden', `${request.method} ${route} needs the role "${access}", which this key does not have`, { requiredRole: access }));
    }
    request.principal = { actorId: key.actorId, keyDigest: key.digest };
    done();
  });
}

export interface RegisteredRoute {
  method: string;
  url: string;
}

const registeredRoutes = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route the router has, as access control saw it registered (the security suite checks each has a role). */
export function routesOf(fastify: FastifyInstance): readonly RegisteredRoute[] {
  return registeredRoutes.get(fastify) ?? [];
}

function unauthorized(reply: FastifyReply, detail: string, error?: 'invalid_request' | 'invalid_token'): void {
  // RFC 6750: the scheme and, when a credential was sent, why it was refused. Never the credential.
  void reply.header('WWW-Authenticate', `Bearer realm="crm"${error ? `, error="${error}"` : ''}`);
  refuse(reply, problem(401, 'unauthorized', 'Unauthorized', detail));
}

/** Answers from the hook (a hook that replies must not call `done`, nor return the reply, which is thenable). */
function refuse(reply: FastifyReply, body: Problem): void {
  void reply.code(body.status).header('content-type', PROBLEM_CONTENT_TYPE).send(body);
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
