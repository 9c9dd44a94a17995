// The twelve secrets operations as the authorization matrices exercise them: what state each needs
// before it can succeed, how to put it there, how to run it with the real SDK, and how to read the
// service's answer when it refuses (the SDK's pager drops a failed page's body, so list operations keep
// the raw response).
import type { SecretClient } from '@azure/keyvault-secrets';

export type Op = 'get' | 'listSecrets' | 'listVersions' | 'set' | 'update' | 'delete' | 'backup' | 'restore' | 'getDeleted' | 'listDeleted' | 'recover' | 'purge';
export const OPS: Op[] = ['get', 'listSecrets', 'listVersions', 'set', 'update', 'delete', 'backup', 'restore', 'getDeleted', 'listDeleted', 'recover', 'purge'];

/** The state an allowed operation needs before it runs. */
export const STATE: Record<Op, 'none' | 'active' | 'deleted' | 'backup'> = {
  get: 'active',
  listSecrets: 'none',
  listVersions: 'active',
  set: 'none',
  update: 'active',
  delete: 'active',
  backup: 'active',
  restore: 'backup',
  getDeleted: 'deleted',
  listDeleted: 'none',
  recover: 'deleted',
  purge: 'deleted',
};

/** One secret name per operation, so the operations of a case never touch each other's secrets. */
export function namesFor(prefix: string): Record<Op, string> {
  return Object.fromEntries(OPS.map((op) => [op, `${prefix}-${op}`])) as Record<Op, string>;
}

/**
 * Puts, with a client allowed everything, each given operation's secret into the state it needs;
 * returns the backup blob the restore operation will use, if any.
 */
export async function prepareState(owner: SecretClient, ops: Op[], names: Record<Op, string>): Promise<Uint8Array | undefined> {
  let blob: Uint8Array | undefined;
  await Promise.all(
    ops
      .filter((op) => STATE[op] !== 'none')
      .map(async (op) => {
        const name = names[op];
        const state = STATE[op];
        await owner.setSecret(name, `value-${name}`);
        if (state === 'backup') blob = await owner.backupSecret(name);
        if (state === 'deleted' || state === 'backup') await (await owner.beginDeleteSecret(name)).pollUntilDone();
        if (state === 'backup') await owner.purgeDeletedSecret(name);
      }),
  );
  return blob;
}

export type RawResponse = { parsedBody?: unknown; bodyAsText?: string | null; headers?: { get(name: string): string | undefined } };

export interface RunContext {
  kv: SecretClient;
  names: Record<Op, string>;
  blob?: Uint8Array;
  /** Receives x-ms-keyvault-rbac-assignment-id of a successful get. */
  onGetAssignment?: (header: string | undefined) => void;
}

/** Runs one operation; throws the SDK's error when the service refuses it. */
export async function runOperation(ctx: RunContext, op: Op, raw: { response?: RawResponse }): Promise<void> {
  const { kv } = ctx;
  const name = ctx.names[op];
  const onResponse = (response: RawResponse) => void (raw.response = response);
  const expectThat = (ok: boolean, what: string) => {
    if (!ok) throw new Error(`${op} succeeded but ${what}`);
  };
  switch (op) {
    case 'get': {
      let header: string | undefined;
      const secret = await kv.getSecret(name, { onResponse: (r) => (header = r.headers.get('x-ms-keyvault-rbac-assignment-id') ?? undefined) });
      expectThat(secret.value === `value-${name}`, `returned ${JSON.stringify(secret.value)}`);
      ctx.onGetAssignment?.(header);
      return;
    }
    case 'listSecrets':
      await kv.listPropertiesOfSecrets({ onResponse }).byPage().next();
      return;
    case 'listVersions': {
      const page = (await kv.listPropertiesOfSecretVersions(name, { onResponse }).byPage().next()).value;
      expectThat(page?.length === 1, `listed ${page?.length} versions`);
      return;
    }
    case 'set':
      await kv.setSecret(name, 'set-by-case');
      return;
    case 'update':
      expectThat((await kv.updateSecretProperties(name, '', { tags: { by: 'case' } })).tags?.by === 'case', 'did not change the tags');
      return;
    case 'delete':
      await (await kv.beginDeleteSecret(name)).pollUntilDone();
      return;
    case 'backup':
      expectThat(((await kv.backupSecret(name))?.length ?? 0) > 0, 'returned no blob');
      return;
    case 'restore':
      expectThat((await kv.restoreSecretBackup(ctx.blob ?? new Uint8Array([1, 2, 3]))).name === name, 'restored another name');
      return;
    case 'getDeleted':
      expectThat((await kv.getDeletedSecret(name)).recoveryId?.endsWith(`/deletedsecrets/${name}`) === true, 'had another recovery id');
      return;
    case 'listDeleted':
      await kv.listDeletedSecrets({ onResponse }).byPage().next();
      return;
    case 'recover':
      await (await kv.beginRecoverDeletedSecret(name)).pollUntilDone();
      return;
    case 'purge':
      await kv.purgeDeletedSecret(name);
      return;
  }
}

interface ServiceError {
  code?: string;
  message?: string;
  innerError?: { code?: string };
  innererror?: { code?: string };
}

/**
 * Runs every operation (or those given) and describes each outcome as "<op>: allowed", "<op>: denied" (a
 * 403 Forbidden with `innerCode` and exactly the expected message), or what else happened.
 */
export async function outcomes(
  ctx: RunContext,
  innerCode: 'ForbiddenByRbac' | 'ForbiddenByPolicy',
  expectedMessage: (op: Op, region: string) => string,
  ops: Op[] = OPS,
): Promise<string[]> {
  return Promise.all(
    ops.map(async (op) => {
      const raw: { response?: RawResponse } = {};
      try {
        await runOperation(ctx, op, raw);
        return `${op}: allowed`;
      } catch (error) {
        const e = error as { statusCode?: number; code?: string; message: string; details?: { error?: ServiceError }; response?: RawResponse };
        const body = (e.details?.error ? e.details : (raw.response?.parsedBody ?? JSON.parse(raw.response?.bodyAsText ?? '{}'))) as { error?: ServiceError };
        const inner = body.error?.innerError?.code ?? body.error?.innererror?.code;
        if (e.statusCode === 403 && body.error?.code === 'Forbidden' && inner === innerCode) {
          const expected = expectedMessage(op, e.response?.headers?.get('x-ms-keyvault-region') ?? '');
          return body.error.message === expected ? `${op}: denied` : `${op}: denied with ${JSON.stringify(body.error.message)}, expected ${JSON.stringify(expected)}`;
        }
        return `${op}: failed ${e.statusCode ?? ''} ${e.code ?? ''} ${e.message}`;
      }
    }),
  );
}

/** What `outcomes` should return when exactly `allowed` operations may run. */
export function expectedOutcomes(allowed: (op: Op) => boolean): string[] {
  return OPS.map((op) => `${op}: ${allowed(op) ? 'allowed' : 'denied'}`);
}
