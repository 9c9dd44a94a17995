// Wires the fault injector into the data-plane pipeline: after authentication (a throttled caller is
// still an authenticated one), before the route runs.
import type { FastifyInstance } from 'fastify';
import type { FaultInjector } from '../faults/injector.js';
import { surfaceOf } from './pipeline.js';

export function installFaults(app: FastifyInstance, faults: FaultInjector): void {
  app.addHook('preHandler', async (request) => {
    if (surfaceOf(request) !== 'data') return;
    const params = request.params as { name?: string } | undefined;
    const permission = request.routeOptions.config?.permission;
    const outcome = faults.check({
      method: request.method,
      vault: request.kv.vaultName,
      ...(permission !== undefined && { operation: permission }),
      ...(params?.name !== undefined && { secret: params.name }),
    });
    if (!outcome) return;
    if (outcome.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, outcome.delayMs));
    if (outcome.error) throw outcome.error;
  });
}
