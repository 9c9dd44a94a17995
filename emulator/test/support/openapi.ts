// Validates response bodies against the official Key Vault secrets OpenAPI document (2025-07-01,
// copied into test/fixtures). Object definitions are tightened with additionalProperties: false so a
// stray field in a response fails the test, not only a missing or mistyped one.
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

const document = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/openapi/secrets.json'), 'utf8')) as {
  definitions: Record<string, unknown>;
};

function tighten(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(tighten);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-ms-') || key === 'readOnly' || key === 'description') continue;
    if (key === 'format' && value === 'unixtime') continue;
    out[key] = tighten(value);
  }
  if (out.type === 'object' && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

const definitions = tighten(document.definitions) as Record<string, { properties: Record<string, { type?: unknown }> }>;
// The real service sends "nextLink": null on the last page (recorded traffic); the document says string.
for (const list of ['SecretListResult', 'DeletedSecretListResult']) definitions[list]!.properties.nextLink!.type = ['string', 'null'];

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema({ $id: 'kv', definitions });

export type Definition = 'SecretBundle' | 'DeletedSecretBundle' | 'SecretListResult' | 'DeletedSecretListResult' | 'BackupSecretResult' | 'KeyVaultError';

export function expectValid(definition: Definition, body: unknown): void {
  const validate = ajv.getSchema(`kv#/definitions/${definition}`);
  if (!validate) throw new Error(`no definition ${definition}`);
  const ok = validate(body);
  expect(ok ? [] : validate.errors, `${definition}: ${JSON.stringify(body)}`).toEqual([]);
}
