// The events domain without HTTP: the delivery policy (which answers retry, how long to wait, when an
// event is dead-lettered), the outbox written in the change's own transaction (a rolled-back change
// publishes nothing), and subscription filters.
import { describe, expect, it } from 'vitest';
import { eventTime, handshakeProblem } from '../../src/events/envelope.js';
import type { StoredSubscription } from '../../src/events/model.js';
import { afterAttempt, backoffMs, beforeAttempt, outcomeOf } from '../../src/events/policy.js';
import type { WebhookClient } from '../../src/events/ports.js';
import { EventService } from '../../src/events/service.js';
import { matches } from '../../src/events/subscriptions.js';
import { SqliteEventRepository } from '../../src/store/event-repository.js';
import { SqliteSecretRepository } from '../../src/store/secret-repository.js';
import { openStorage } from '../../src/store/storage.js';
import { ControllableClock } from '../../src/vault/clock.js';

const subscription: StoredSubscription = {
  vault: 'v',
  name: 'sub',
  endpoint: 'http://127.0.0.1:1/x',
  schema: 'EventGridSchema',
  maxDeliveryAttempts: 3,
  eventTimeToLiveInMinutes: 10,
  deadLetter: true,
  origin: 'admin',
  validated: true,
  createdAt: 0,
};

describe('delivery policy', () => {
  it('retries timeouts, 408, 429, 5xx and other statuses; not 400, 401, 403, 404, 413; 200-204 deliver', () => {
    for (const status of [200, 201, 202, 203, 204]) expect(outcomeOf({ kind: 'answered', status })).toMatchObject({ delivered: true });
    for (const status of [400, 401, 403, 404, 413]) expect(outcomeOf({ kind: 'answered', status })).toMatchObject({ delivered: false, retry: false });
    for (const status of [205, 302, 408, 409, 429, 500, 502, 503]) expect(outcomeOf({ kind: 'answered', status })).toMatchObject({ delivered: false, retry: true });
    expect(outcomeOf({ kind: 'timeout' })).toMatchObject({ name: 'TimedOut', retry: true });
    expect(outcomeOf({ kind: 'failed', message: 'ECONNREFUSED' })).toMatchObject({ name: 'Unreachable', retry: true });
  });

  it("waits Event Grid's schedule between attempts, then every 12 hours", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 25].map((n) => backoffMs(n) / 1000)).toEqual([10, 30, 60, 300, 600, 1800, 3600, 10800, 21600, 43200, 43200]);
  });

  it('ends a delivery after maxDeliveryAttempts or its time to live, whichever comes first', () => {
    const failed = outcomeOf({ kind: 'answered', status: 500 });
    expect(afterAttempt({ publishedAt: 0, attempts: 1 }, subscription, failed, 0)).toEqual({ state: 'pending', nextAttemptAt: 10_000 });
    expect(afterAttempt({ publishedAt: 0, attempts: 3 }, subscription, failed, 50_000)).toEqual({ state: 'deadLettered', reason: 'MaxDeliveryAttemptsExceeded' });
    // A retry that would fall after the time to live is due when it runs out, and then not made.
    expect(afterAttempt({ publishedAt: 0, attempts: 2 }, { ...subscription, maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1 }, failed, 40_000)).toEqual({ state: 'pending', nextAttemptAt: 60_000 });
    expect(beforeAttempt({ publishedAt: 0 }, { ...subscription, eventTimeToLiveInMinutes: 1 }, 60_000)).toEqual({ state: 'deadLettered', reason: 'TimeToLiveExceeded' });
    expect(beforeAttempt({ publishedAt: 0 }, { ...subscription, deadLetter: false }, 10 * 60_000)).toEqual({ state: 'dropped', reason: 'TimeToLiveExceeded' });
    expect(beforeAttempt({ publishedAt: 0 }, subscription, 10 * 60_000 - 1)).toBeUndefined();
  });
});

describe('envelope', () => {
  it('writes eventTime with seven fractional digits', () => {
    expect(eventTime(Date.parse('2019-07-25T01:08:33.103Z'))).toBe('2019-07-25T01:08:33.1030000Z');
  });

  it('accepts a handshake answer only as Event Grid does', () => {
    const ok = { status: 200, headers: {}, body: '{"validationResponse":"c"}' };
    expect(handshakeProblem('EventGridSchema', 'c', ok)).toBeUndefined();
    expect(handshakeProblem('EventGridSchema', 'c', { ...ok, body: '{"ValidationResponse":"c"}' })).toBeUndefined();
    expect(handshakeProblem('EventGridSchema', 'c', { ...ok, status: 202 })).toMatch(/HTTP 202/);
    expect(handshakeProblem('CloudEventSchemaV1_0', 'c', { status: 200, headers: { 'webhook-allowed-origin': '*' }, body: '' })).toBeUndefined();
    expect(handshakeProblem('CloudEventSchemaV1_0', 'c', { status: 200, headers: { 'webhook-allowed-origin': 'example.com' }, body: '' })).toMatch(/WebHook-Allowed-Origin/);
  });
});

describe('filters', () => {
  it('match event types exactly and subjects case-insensitively', () => {
    const s = { ...subscription, includedEventTypes: ['Microsoft.KeyVault.SecretNearExpiry' as const], subjectBeginsWith: 'Db', subjectEndsWith: 'PW' };
    expect(matches(s, { type: 'Microsoft.KeyVault.SecretNearExpiry', subject: 'db-pw' })).toBe(true);
    expect(matches(s, { type: 'Microsoft.KeyVault.SecretExpired', subject: 'db-pw' })).toBe(false);
    expect(matches(s, { type: 'Microsoft.KeyVault.SecretNearExpiry', subject: 'x-db-pw' })).toBe(false);
  });
});

describe('the outbox', () => {
  it('is written in the transaction of the change: a rolled-back change publishes nothing, a committed one its event', async () => {
    const storage = openStorage({ durability: 'full' });
    const clock = new ControllableClock();
    const webhooks: WebhookClient = {
      send: async (_url, request) => ({ kind: 'answered', status: 200, headers: {}, body: JSON.stringify({ validationResponse: JSON.parse(request.body!)[0].data.validationCode }) }),
      close: () => undefined,
    };
    const store = new SqliteEventRepository(storage.db, storage.commits);
    const events = new EventService({ store, clock, webhooks, location: { subscriptionId: 's', resourceGroup: 'g' }, handshakeTimeoutMs: 1000 });
    await events.put(subscription);
    const secrets = new SqliteSecretRepository(storage.db, storage.commits);
    const version = { name: 'x', version: '0'.repeat(32), value: 'v', attributes: { enabled: true, created: 1, updated: 1, exp: 2_000_000_000 } };
    expect(() =>
      secrets.transaction(() => {
        secrets.addVersion('v', { name: 'x', managed: false }, version);
        events.newVersion('v', version);
        throw new Error('the change fails after its event was written');
      }),
    ).toThrow('the change fails');
    const count = (table: string) => storage.db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get();
    expect([count('events'), count('deliveries'), count('event_timers'), count('versions')]).toEqual([0, 0, 0, 0]);
    secrets.transaction(() => {
      secrets.addVersion('v', { name: 'x', managed: false }, version);
      events.newVersion('v', version);
    });
    await storage.commits.settled();
    expect([count('events'), count('deliveries'), count('event_timers'), count('versions')]).toEqual([1, 1, 2, 1]);
    await storage.close();
  });
});
