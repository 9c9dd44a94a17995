// Wires the fault injector into the data-plane pipeline (http/pipeline.ts): after authentication and
// authorization (a throttled caller is still an authenticated one), before the body is read and the route
// runs, as a front door would throttle.
import type { FaultInjector } from '../faults/injector.js';
import type { DataPlaneStep } from './pipeline.js';

export function faultStep(faults: FaultInjector): DataPlaneStep {
  return (request) => {
    if (faults.isEmpty()) return;
    const name = (request.params as { name?: string } | undefined)?.name;
    const permission = request.kv.permission;
    const outcome = faults.check({
      method: request.method,
      vault: request.kv.vaultName,
      ...(permission !== undefined && { operation: permission }),
      ...(name !== undefined && { secret: name }),
    });
    if (!outcome) return;
    if (outcome.error && outcome.delayMs <= 0) throw outcome.error;
    return new Promise<void>((resolve, reject) => {
      setTimeout(() => (outcome.error ? reject(outcome.error) : resolve()), outcome.delayMs);
    });
  };
}
