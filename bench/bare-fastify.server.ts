import Fastify from 'fastify';

/** The baseline of the capture benchmark: a Fastify route that parses JSON and answers 201. */
const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.post('/leads', async (_request, reply) => reply.code(201).send({ id: 'x', revision: 0, position: '1' }));
app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).then(() => process.send?.('ready'));
