import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';

const closing = new WeakSet<FastifyInstance>();

/**
 * While the service shuts down, every response says `Connection: close`: a keep-alive client
 * gets the answer to the request it sent and then opens a new connection, which nothing
 * accepts any more. Without it a busy keep-alive connection never becomes idle, and the
 * server waits for it until the grace period runs out.
 */
export function closeConnectionsWhenShuttingDown(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (closing.has(fastify)) void reply.header('Connection', 'close');
    done(null, payload);
  });
}

/**
 * Stops accepting connections and waits for the requests in flight (the HTTP server closes
 * first, so that they still have their stores), then closes the app: the projector commits the
 * batch it is applying and stops, the stores close.
 */
export async function shutDownGracefully(app: NestFastifyApplication): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  closing.add(fastify);
  await fastify.close();
  await app.close();
}
