// Wires realism's request limits and latency (realism/realism.ts) into the data-plane pipeline
// (http/pipeline.ts): after authentication and authorization, since the service counts what its callers
// may do, and before the body is read and the route runs, as a front door throttles. A throttled request
// gets the service's 429 at once; a request the latency holds waits on the wall clock, then goes on.
// While both are off the step checks one flag and returns.
import { errors } from '../errors.js';
import type { Realism } from '../realism/realism.js';
import type { DataPlaneStep } from './pipeline.js';

export function realismStep(realism: Realism): DataPlaneStep {
  return (request) => {
    if (!realism.onRequests) return;
    const operation = request.kv.permission;
    const refusal = realism.admit(request.kv.vaultName, operation);
    if (refusal) throw errors.throttled(refusal.retryAfterSeconds);
    const delayMs = realism.delayFor(operation);
    if (delayMs > 0) return new Promise<void>((resolve) => setTimeout(resolve, delayMs));
  };
}
