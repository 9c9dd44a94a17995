// The dashboard at /_emulator/ui: static files shipped in the package (emulator/ui/), served as they are
// (no build step), behind the admin API's guard (loopback, or the admin key). The page is a client of the
// admin API only; it holds no secret value until a person asks to reveal one. A strict Content Security
// Policy lets it load only its own files and talk only to its own origin.
import type { FastifyInstance } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errors } from '../errors.js';

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

const POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** emulator/ui beside the compiled module (dist/ui/routes.js) or the bundle (dist/cli.cjs). */
export function uiDirectory(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, '..', 'ui'), join(here, '..', '..', 'ui')].find((dir) => existsSync(join(dir, 'index.html')));
}

export function dashboardRoutes(app: FastifyInstance, directory = uiDirectory()): void {
  const cache = new Map<string, Buffer>();
  const read = (file: string): Buffer => {
    let content = cache.get(file);
    if (content === undefined) {
      if (directory === undefined) throw errors.notFound('The dashboard files are not installed with this emulator (emulator/ui).');
      cache.set(file, (content = readFileSync(join(directory, file))));
    }
    return content;
  };
  const admin = { config: { surface: 'admin' as const } };
  const send = (file: string) => async (_request: unknown, reply: import('fastify').FastifyReply) =>
    reply
      .code(200)
      .type(FILES[file]!)
      .header('content-security-policy', POLICY)
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .send(read(file));
  app.get('/_emulator/ui', admin, send('index.html'));
  app.get<{ Params: { file: string } }>('/_emulator/ui/:file', admin, async (request, reply) => {
    const file = request.params.file;
    if (!Object.hasOwn(FILES, file)) throw errors.notFound(`The dashboard has no file '${file}'.`);
    return send(file)(request, reply);
  });
}
