// The HTTP face of the sample app: GET / answers 200 {"status":"healthy"} when the database answers
// SELECT 1 and 500 {"status":"unhealthy"} otherwise. Built separately from listening (main.ts) so
// tests can start it on any port.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { DatabaseHealth } from './database-health.js';

export function buildApp(options: { health: Pick<DatabaseHealth, 'check' | 'close'>; logger?: FastifyServerOptions['logger'] }): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? false });
  // Probes call this every few seconds: log its requests only when something is wrong.
  app.get('/', { logLevel: 'warn' }, async (_request, reply) => {
    const result = await options.health.check();
    return reply.code(result.healthy ? 200 : 500).send({ status: result.healthy ? 'healthy' : 'unhealthy' });
  });
  app.addHook('onClose', async () => options.health.close());
  return app;
}
