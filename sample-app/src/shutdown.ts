// How both processes (the app and the rotator) stop: on SIGINT or SIGTERM, close the server (answers in
// flight finish), exit 0; exit 1 if closing fails or takes more than 10 s.
import type { FastifyInstance } from 'fastify';

export function stopOnSignals(app: FastifyInstance): void {
  const stop = (signal: string) => {
    app.log.info(`${signal}: stopping.`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
