// The emulator's admin API under /_emulator/ (docs/admin-api.md): info, health, clock, vaults,
// reset, export and import. It answers loopback callers; from any other address it requires the admin
// key (X-KV-Emulator-Admin-Key). A data-plane bearer token never opens it.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { errors, KvError } from '../../errors.js';
import type { ClockState, ControllableClock } from '../../vault/clock.js';
import { resourceGroupOf, type Vault, type VaultSettings } from '../../vault/model.js';
import type { SecretService } from '../../vault/secrets.js';
import type { StateService } from '../../vault/state.js';
import type { VaultService } from '../../vault/vaults.js';
import { parseNetworkSettings, presentNetworkSettings, type ArmLocation } from '../../network/settings.js';
import { isLoopbackAddress } from '../connections.js';

export const ADMIN_KEY_HEADER = 'x-kv-emulator-admin-key';
const IMPORT_BODY_LIMIT = 256 * 1024 * 1024;

export interface AdminOptions {
  clock: ControllableClock;
  vaults: VaultService;
  secrets: SecretService;
  state: StateService;
  /** Facts for `kv-emulator env` and people: URLs, CA, identity endpoint. */
  info: (request: FastifyRequest) => Record<string, unknown>;
  /** Re-applies the config file's vaults and secrets (after a reset). */
  reseed: () => void;
  /** Runs after every move of the clock, with the purge: the time-based events it makes due. */
  afterClockMove?: () => void;
  /** Where vaults live in ARM ids (private endpoint connection ids); a vault made through ARM names its own group. */
  location: ArmLocation;
  /** Why the emulator cannot store writes now (health answers it, 503), or undefined. */
  health?: () => KvError | undefined;
}

const admin = { config: { surface: 'admin' as const } };
type Body = Record<string, unknown>;

export const isLoopback = isLoopbackAddress;

function keyMatches(given: unknown, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function body(request: FastifyRequest): Body {
  const b = request.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw errors.badParameter('The request body must be a JSON object.');
  return b as Body;
}

function presentClock(state: ClockState) {
  return {
    now: new Date(state.now).toISOString(),
    nowEpochSeconds: Math.floor(state.now / 1000),
    offsetSeconds: Math.round(state.offsetMs / 1000),
    frozen: state.frozen,
  };
}

function presentVault(vault: Vault) {
  return {
    name: vault.name,
    softDeleteRetentionInDays: vault.retentionDays,
    purgeProtection: vault.purgeProtection,
    permissionModel: vault.permissionModel,
    createdAt: new Date(vault.createdAt).toISOString(),
    ...presentNetworkSettings(vault),
  };
}

/** Problems with a field of a vault body name the field (`networkAcls.ipRules[3].value must be ...`). */
const badField = (path: string, problem: string): never => {
  throw errors.badParameter(`${path} ${problem}`);
};

/** The settings a vault body sets; network settings are merged into `current` (a PATCH). */
function vaultSettings(b: Body, vault: string, location: ArmLocation, current?: VaultSettings): Partial<VaultSettings> {
  const settings: Partial<VaultSettings> = {};
  if (b.softDeleteRetentionInDays !== undefined) settings.retentionDays = b.softDeleteRetentionInDays as number;
  if (b.purgeProtection !== undefined) settings.purgeProtection = b.purgeProtection as boolean;
  if (b.permissionModel !== undefined) settings.permissionModel = b.permissionModel as VaultSettings['permissionModel'];
  return { ...settings, ...parseNetworkSettings(b, { fail: badField, vault: vault.toLowerCase(), location, ...(current && { current }) }) };
}

function time(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value < 1e11 ? value * 1000 : value;
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    if (!Number.isNaN(parsed)) return parsed;
  }
  throw errors.badParameter(`${field} must be an ISO-8601 date or a Unix time.`);
}

function number(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw errors.badParameter(`${field} must be a number.`);
  return value;
}

const json = (reply: FastifyReply, status: number, payload: unknown) => reply.code(status).type('application/json; charset=utf-8').send(payload);

/**
 * Who may call the admin API (the request pipeline asks for each admin route, http/pipeline.ts):
 * loopback callers, and others presenting the admin key. Answers the error to send, if any.
 */
export function adminAccess(adminKey: string): (request: FastifyRequest) => KvError | undefined {
  return (request) => {
    if (isLoopback(request.socket.remoteAddress)) return undefined;
    if (keyMatches(request.headers[ADMIN_KEY_HEADER], adminKey)) return undefined;
    return new KvError(
      'Unauthorized',
      `The admin API answers loopback callers only, unless the ${ADMIN_KEY_HEADER} header carries the admin key (see admin.key in the data directory).`,
    );
  };
}

export function adminRoutes(app: FastifyInstance, options: AdminOptions): void {
  const { clock, vaults, secrets, state } = options;

  app.get('/_emulator/health', { config: { surface: 'public' as const } }, async (_request, reply) => {
    const problem = options.health?.();
    if (problem) throw problem;
    return json(reply, 200, { status: 'ok' });
  });

  app.get('/_emulator/info', admin, async (request, reply) => json(reply, 200, options.info(request)));

  app.get('/_emulator/clock', admin, async (_request, reply) => json(reply, 200, presentClock(clock.state())));

  // Body fields, applied in this order: reset, offsetSeconds, now, advanceSeconds, frozen. A clock that
  // ends frozen is frozen first, so that `now` and `advanceSeconds` land exactly (no real time passes
  // between the steps).
  app.put('/_emulator/clock', admin, async (request, reply) => {
    const b = body(request);
    if (b.frozen !== undefined && typeof b.frozen !== 'boolean') throw errors.badParameter('frozen must be true or false.');
    const offsetMs = b.offsetSeconds === undefined ? undefined : number(b.offsetSeconds, 'offsetSeconds') * 1000;
    const at = b.now === undefined ? undefined : time(b.now, 'now');
    const advanceMs = b.advanceSeconds === undefined ? undefined : number(b.advanceSeconds, 'advanceSeconds') * 1000;
    // All or nothing: a change that would leave the clock's range is refused before any step applies.
    clock.apply({
      ...(b.reset === true && { reset: true }),
      ...(offsetMs !== undefined && { offsetMs }),
      ...(at !== undefined && { at }),
      ...(advanceMs !== undefined && { advanceMs }),
      ...(typeof b.frozen === 'boolean' && { frozen: b.frozen }),
    });
    secrets.purgeExpired();
    options.afterClockMove?.();
    return json(reply, 200, presentClock(clock.state()));
  });

  app.get('/_emulator/vaults', admin, async (_request, reply) => json(reply, 200, { value: vaults.list().map(presentVault) }));

  app.post('/_emulator/vaults', admin, async (request, reply) => {
    const b = body(request);
    if (typeof b.name !== 'string') throw errors.badParameter('name is required.');
    return json(reply, 201, presentVault(vaults.create(b.name, vaultSettings(b, b.name, options.location))));
  });

  app.get<{ Params: { name: string } }>('/_emulator/vaults/:name', admin, async (request, reply) => {
    const vault = vaults.find(request.params.name);
    if (!vault) throw errors.vaultNotFound(request.params.name.toLowerCase());
    return json(reply, 200, presentVault(vault));
  });

  app.patch<{ Params: { name: string } }>('/_emulator/vaults/:name', admin, async (request, reply) => {
    const current = vaults.find(request.params.name);
    if (!current) throw errors.vaultNotFound(request.params.name.toLowerCase());
    const location = { ...options.location, resourceGroup: resourceGroupOf(current) };
    return json(reply, 200, presentVault(vaults.update(current.name, vaultSettings(body(request), current.name, location, current))));
  });

  app.delete<{ Params: { name: string } }>('/_emulator/vaults/:name', admin, async (request, reply) => {
    const vault = vaults.find(request.params.name);
    if (!vault) throw errors.vaultNotFound(request.params.name.toLowerCase());
    secrets.importVault(vault, []);
    vaults.remove(vault.name);
    return reply.code(204).send();
  });

  app.post('/_emulator/reset', admin, async (_request, reply) => {
    state.reset();
    clock.reset();
    options.reseed();
    return json(reply, 200, { status: 'reset', vaults: vaults.list().map((v) => v.name) });
  });

  app.get('/_emulator/export', admin, async (_request, reply) => json(reply, 200, state.exportState()));

  app.post('/_emulator/import', { ...admin, bodyLimit: IMPORT_BODY_LIMIT }, async (request, reply) => json(reply, 200, state.importState(request.body)));
}
