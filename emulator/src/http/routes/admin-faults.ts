// Admin API for fault injection: GET/POST/DELETE /_emulator/faults (see faults/injector.ts).
import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';
import type { FaultInjector } from '../../faults/injector.js';

const admin = { config: { surface: 'admin' as const } };

export function faultRoutes(app: FastifyInstance, faults: FaultInjector): void {
  const json = 'application/json; charset=utf-8';
  app.get('/_emulator/faults', admin, async (_request, reply) => reply.type(json).send({ value: faults.list() }));
  app.post('/_emulator/faults', admin, async (request, reply) => reply.code(201).type(json).send(faults.add(request.body)));
  app.delete('/_emulator/faults', admin, async (_request, reply) => {
    faults.clear();
    return reply.code(204).send();
  });
  app.delete<{ Params: { id: string } }>('/_emulator/faults/:id', admin, async (request, reply) => {
    if (!faults.remove(request.params.id)) throw errors.notFound(`No fault rule with id ${request.params.id}.`);
    return reply.code(204).send();
  });
}
