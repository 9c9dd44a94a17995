// The admin API for Event Grid events (docs/events-and-rotation.md): a vault's event subscriptions
// (PUT runs the validation handshake first and answers its failure), each subscription's recent
// deliveries with their status, and its dead letters in Event Grid's dead-letter format. Same guard as
// the rest of /_emulator/ (loopback, or the admin key).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../../errors.js';
import { deadLetterRecord, eventTime, vaultResourceId, type Placement } from '../../events/envelope.js';
import type { Delivery, DeliveryState, StoredSubscription } from '../../events/model.js';
import { HandshakeError, type EventService } from '../../events/service.js';
import { checkSubscriptionName, endpointBaseUrl, parseSubscription } from '../../events/subscriptions.js';
import type { VaultService } from '../../vault/vaults.js';

export interface AdminEventsOptions {
  events: EventService;
  vaults: VaultService;
  location: Placement;
}

const admin = { config: { surface: 'admin' as const } };
const STATES: readonly DeliveryState[] = ['pending', 'delivered', 'deadLettered', 'dropped'];
const VAULT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/;

type Params = { vault: string; name: string };

const json = (reply: FastifyReply, status: number, payload: unknown) => reply.code(status).type('application/json; charset=utf-8').send(payload);

const badParameter = (path: string, problem: string): never => {
  throw errors.badParameter(`'${path}' ${problem}`);
};

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

function presentSubscription(s: StoredSubscription, location: Placement) {
  return {
    name: s.name,
    vault: s.vault,
    topic: vaultResourceId(s.vault, location),
    // The endpoint may carry keys in its query string: only its base is shown (Event Grid's endpointBaseUrl).
    endpointBaseUrl: endpointBaseUrl(s.endpoint),
    includedEventTypes: s.includedEventTypes ?? null,
    subjectBeginsWith: s.subjectBeginsWith ?? null,
    subjectEndsWith: s.subjectEndsWith ?? null,
    schema: s.schema,
    maxDeliveryAttempts: s.maxDeliveryAttempts,
    eventTimeToLiveInMinutes: s.eventTimeToLiveInMinutes,
    deadLetter: s.deadLetter,
    provisioningState: s.validated ? 'Succeeded' : 'AwaitingValidation',
    origin: s.origin,
    createdAt: iso(s.createdAt),
  };
}

function presentDelivery(d: Delivery) {
  return {
    eventId: d.event.id,
    eventType: d.event.type,
    subject: d.event.subject,
    eventTime: eventTime(d.event.time),
    state: d.state,
    attempts: d.attempts,
    publishedAt: iso(d.publishedAt),
    lastAttemptAt: iso(d.lastAttemptAt),
    nextAttemptAt: iso(d.nextAttemptAt),
    lastStatus: d.lastStatus ?? null,
    lastOutcome: d.lastOutcome ?? null,
    reason: d.reason ?? null,
  };
}

function vaultParam(request: FastifyRequest<{ Params: Partial<Params> }>): string {
  const vault = request.params.vault ?? '';
  if (!VAULT_NAME.test(vault)) throw errors.badParameter('The vault name must be 1-63 letters, digits and hyphens.');
  return vault.toLowerCase();
}

function limitOf(request: FastifyRequest): number {
  const top = (request.query as Record<string, unknown>).top;
  if (top === undefined) return 100;
  const n = Number(top);
  if (typeof top !== 'string' || !/^\d+$/.test(top) || n < 1 || n > 1000) throw errors.badParameter("'top' must be an integer from 1 to 1000.");
  return n;
}

export function adminEventRoutes(app: FastifyInstance, options: AdminEventsOptions): void {
  const { events, vaults, location } = options;

  const subscriptionOf = (request: FastifyRequest<{ Params: Params }>): StoredSubscription => {
    const vault = vaultParam(request);
    const found = events.find(vault, request.params.name);
    if (!found) throw errors.eventSubscriptionNotFound(vault, request.params.name);
    return found;
  };

  app.get('/_emulator/eventSubscriptions', admin, async (_request, reply) =>
    json(reply, 200, { value: events.list().map((s) => presentSubscription(s, location)) }),
  );

  app.get<{ Params: Partial<Params> }>('/_emulator/vaults/:vault/eventSubscriptions', admin, async (request, reply) =>
    json(reply, 200, { value: events.list(vaultParam(request)).map((s) => presentSubscription(s, location)) }),
  );

  // Creates (201) or replaces (200) the subscription once its endpoint passes the validation handshake.
  app.put<{ Params: Params }>('/_emulator/vaults/:vault/eventSubscriptions/:name', admin, async (request, reply) => {
    const name = checkSubscriptionName(request.params.name, badParameter, 'name');
    const vault = vaults.resolve(vaultParam(request)).name;
    const body = request.body;
    if (body !== null && typeof body === 'object' && !Array.isArray(body) && 'name' in body && (body as { name: unknown }).name !== name) {
      throw errors.badParameter("'name' must match the name in the path.");
    }
    const subscription = parseSubscription(body ?? undefined, { vault, name }, badParameter);
    try {
      const { subscription: stored, created } = await events.put(subscription);
      return json(reply, created ? 201 : 200, presentSubscription(stored, location));
    } catch (error) {
      if (error instanceof HandshakeError) throw errors.webhookValidationFailed(error.message);
      throw error;
    }
  });

  app.get<{ Params: Params }>('/_emulator/vaults/:vault/eventSubscriptions/:name', admin, async (request, reply) =>
    json(reply, 200, presentSubscription(subscriptionOf(request), location)),
  );

  app.delete<{ Params: Params }>('/_emulator/vaults/:vault/eventSubscriptions/:name', admin, async (request, reply) => {
    const subscription = subscriptionOf(request);
    events.delete(subscription.vault, subscription.name);
    return reply.code(204).send();
  });

  // Recent deliveries, newest first: ?state=pending|delivered|deadLettered|dropped (comma-separated), ?top=N (default 100).
  app.get<{ Params: Params }>('/_emulator/vaults/:vault/eventSubscriptions/:name/deliveries', admin, async (request, reply) => {
    const subscription = subscriptionOf(request);
    const state = (request.query as Record<string, unknown>).state;
    let states: DeliveryState[] | undefined;
    if (state !== undefined) {
      if (typeof state !== 'string') throw errors.badParameter(`'state' must be one or more of ${STATES.join(', ')}, comma-separated.`);
      states = state.split(',').map((s) => s.trim()) as DeliveryState[];
      if (states.some((s) => !STATES.includes(s))) throw errors.badParameter(`'state' must be one or more of ${STATES.join(', ')}, comma-separated.`);
    }
    const list = events.deliveries(subscription, { ...(states && { states }), limit: limitOf(request) });
    return json(reply, 200, { value: list.map(presentDelivery) });
  });

  // Dead letters as Event Grid writes them to a dead-letter location: the event plus why and how it failed.
  app.get<{ Params: Params }>('/_emulator/vaults/:vault/eventSubscriptions/:name/deadLetters', admin, async (request, reply) => {
    const subscription = subscriptionOf(request);
    const list = events.deliveries(subscription, { states: ['deadLettered'], limit: limitOf(request) });
    return json(reply, 200, { value: list.map((d) => deadLetterRecord(d, subscription, location)) });
  });
}
