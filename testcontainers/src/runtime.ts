// Whether a container engine answers, so Docker-backed tests can say why they are skipped. A docker
// client binary alone is not enough: this asks the engine itself, through Testcontainers' own
// discovery (DOCKER_HOST, ~/.testcontainers.properties, the default sockets).
import { getContainerRuntimeClient } from 'testcontainers';

export type RuntimeStatus = { available: true; engine: string } | { available: false; reason: string };

let cached: Promise<RuntimeStatus> | undefined;

export function containerRuntimeStatus(): Promise<RuntimeStatus> {
  return (cached ??= getContainerRuntimeClient().then(
    (client): RuntimeStatus => ({ available: true, engine: `${client.info.containerRuntime.operatingSystem} at ${client.info.containerRuntime.host}` }),
    (error: unknown): RuntimeStatus => ({ available: false, reason: `no container engine answers: ${(error as Error).message}` }),
  ));
}
