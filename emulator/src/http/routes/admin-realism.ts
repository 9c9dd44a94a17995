// Admin API for the realism switches (realism/realism.ts, docs/realistic-mode.md):
//   GET   /_emulator/realism  the settings in force, the limits they make, and what they have done so far;
//   PATCH /_emulator/realism  changes the parts named ({"preset": ...} first, then consistency, limits,
//                             latency), validated whole before anything changes.
import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';
import type { Realism } from '../../realism/realism.js';

const admin = { config: { surface: 'admin' as const } };

export function presentRealism(realism: Realism) {
  const settings = realism.settings();
  return {
    consistency: settings.consistency,
    limits: { ...settings.limits, ...realism.limits.limits() },
    latency: settings.latency,
    stats: realism.stats(),
  };
}

export function realismRoutes(app: FastifyInstance, realism: Realism): void {
  const json = 'application/json; charset=utf-8';
  app.get('/_emulator/realism', admin, async (_request, reply) => reply.type(json).send(presentRealism(realism)));
  app.patch('/_emulator/realism', admin, async (request, reply) => {
    if (request.body === undefined) throw errors.badParameter('The request body must be a JSON object of realism settings.');
    realism.patch(request.body, (path, problem) => {
      throw errors.badParameter(`'${path}' ${problem}`);
    });
    return reply.type(json).send(presentRealism(realism));
  });
}
