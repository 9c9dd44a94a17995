// Backup blobs: the real service returns an opaque blob, 0x29 + "AzureKeyVaultSecretBackupV1.microsoft.com"
// followed by a compact JWE (spec §6.6). We use the same framing with a direct-key JWE (A256GCM) made by
// jose, keyed per emulator installation (or by a configured key, so several instances share blobs, as
// vaults of one subscription do). Anything that does not decrypt and parse is "corrupt".
import { createHash } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import type { SecretSnapshot } from '../vault/model.js';
import type { BackupSealer } from '../vault/ports.js';

const PREFIX = Buffer.concat([Buffer.from([0x29]), Buffer.from('AzureKeyVaultSecretBackupV1.microsoft.com', 'ascii')]);
const VERSION_ID = /^[0-9a-f]{32}$/;
const NAME = /^[0-9a-zA-Z-]{1,127}$/;

export class JweBackupSealer implements BackupSealer {
  private readonly kid: string;

  /** `key` is 32 bytes. */
  constructor(private readonly key: Uint8Array) {
    if (key.length !== 32) throw new Error('The backup key must be 32 bytes.');
    this.kid = createHash('sha256').update(key).digest('hex').slice(0, 32);
  }

  async seal(snapshot: SecretSnapshot): Promise<Uint8Array> {
    const { deleted: _deleted, ...content } = snapshot;
    const jwe = await new CompactEncrypt(Buffer.from(JSON.stringify({ v: 1, secret: content })))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: this.kid, cty: 'application/vnd.kv-emulator.secret-backup+json' })
      .encrypt(this.key);
    return Buffer.concat([PREFIX, Buffer.from(jwe, 'ascii')]);
  }

  async open(blob: Uint8Array): Promise<SecretSnapshot | undefined> {
    const bytes = Buffer.from(blob);
    if (bytes.length <= PREFIX.length || !bytes.subarray(0, PREFIX.length).equals(PREFIX)) return undefined;
    try {
      const { plaintext } = await compactDecrypt(bytes.subarray(PREFIX.length).toString('ascii'), this.key);
      const parsed = JSON.parse(Buffer.from(plaintext).toString('utf8')) as { v?: unknown; secret?: unknown };
      return parsed.v === 1 && isSnapshot(parsed.secret) ? parsed.secret : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Derives a 32-byte key from configured text (base64 of 32 bytes, 64 hex digits, or any passphrase). */
export function backupKeyFrom(text: string): Uint8Array {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  const b64 = Buffer.from(text, 'base64');
  if (b64.length === 32 && /^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return b64;
  return createHash('sha256').update(text, 'utf8').digest();
}

function isSnapshot(value: unknown): value is SecretSnapshot {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Partial<SecretSnapshot>;
  if (typeof s.name !== 'string' || !NAME.test(s.name) || typeof s.managed !== 'boolean') return false;
  if (!Array.isArray(s.versions) || s.versions.length === 0) return false;
  return s.versions.every(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof v.version === 'string' &&
      VERSION_ID.test(v.version) &&
      typeof v.value === 'string' &&
      typeof v.attributes === 'object' &&
      v.attributes !== null &&
      typeof v.attributes.enabled === 'boolean' &&
      Number.isInteger(v.attributes.created) &&
      Number.isInteger(v.attributes.updated),
  );
}
