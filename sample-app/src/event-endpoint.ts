// The rotator's HTTP face: an Event Grid webhook at POST /api/events, as an HTTP-triggered function
// would expose it (docs: "Receive events from Azure Event Grid to an HTTP endpoint").
//  - The validation handshake: a Microsoft.EventGrid.SubscriptionValidationEvent is answered
//    200 {"validationResponse": <validationCode>}; for CloudEvents subscriptions the OPTIONS request's
//    WebHook-Request-Origin is echoed in WebHook-Allowed-Origin.
//  - Notifications, in the Event Grid schema (an array) or as a CloudEvent, are parsed with the Event
//    Grid SDK's EventGridDeserializer and handed to the rotator. 200 once handled (or ignored); 503 when
//    the database or Key Vault failed, so that Event Grid retries; 400 for a body that is not an event,
//    which no retry would fix.
import { EventGridDeserializer } from '@azure/eventgrid';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { RotationError, type KeyVaultEvent, type RotationResult } from './rotation.js';

const VALIDATION_EVENT = 'Microsoft.EventGrid.SubscriptionValidationEvent';

export interface EventEndpointOptions {
  rotator: { handle(event: KeyVaultEvent): Promise<RotationResult> };
  logger?: FastifyServerOptions['logger'];
}

export function buildEventEndpoint(options: EventEndpointOptions): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: 1024 * 1024 });
  const deserializer = new EventGridDeserializer();
  // Bodies are parsed by the deserializer, from their text, whatever the JSON media type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.get('/health', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.options('/api/events', async (request, reply) => {
    const origin = request.headers['webhook-request-origin'];
    if (typeof origin !== 'string' || origin === '') return reply.code(400).send({ error: 'WebHook-Request-Origin is required.' });
    return reply.code(200).header('webhook-allowed-origin', origin).header('webhook-allowed-rate', '*').header('allow', 'POST').send();
  });

  app.post('/api/events', async (request, reply) => {
    const text = typeof request.body === 'string' ? request.body : '';
    const contentType = String(request.headers['content-type'] ?? '');
    let events: KeyVaultEvent[];
    try {
      if (request.headers['aeg-event-type'] === 'SubscriptionValidation') {
        const [validation] = await deserializer.deserializeEventGridEvents(text);
        if (validation?.eventType !== VALIDATION_EVENT) throw new Error(`expected a ${VALIDATION_EVENT}`);
        const code = (validation.data as { validationCode?: unknown }).validationCode;
        if (typeof code !== 'string') throw new Error('the validation event has no validationCode');
        request.log.info(`Answered the Event Grid validation handshake of subscription ${String(request.headers['aeg-subscription-name'] ?? '?')}.`);
        return reply.code(200).send({ validationResponse: code });
      }
      events = contentType.startsWith('application/cloudevents')
        ? (await deserializer.deserializeCloudEvents(text)).map((e) => ({ type: e.type, ...(e.subject !== undefined && { subject: e.subject }), ...(e.time !== undefined && { time: e.time }), data: (e.data ?? {}) as KeyVaultEvent['data'] }))
        : (await deserializer.deserializeEventGridEvents(text)).map((e) => ({ type: e.eventType, subject: e.subject, time: e.eventTime, data: (e.data ?? {}) as KeyVaultEvent['data'] }));
    } catch (error) {
      request.log.warn(`Refused a request that is not an Event Grid delivery: ${(error as Error).message}`);
      return reply.code(400).send({ error: `Not an Event Grid delivery: ${(error as Error).message}` });
    }
    const results: RotationResult[] = [];
    for (const event of events) {
      try {
        results.push(await options.rotator.handle(event));
      } catch (error) {
        const where = error instanceof RotationError ? error.where : 'rotator';
        request.log.error(`Rotation failed (${where}); Event Grid will deliver the event again: ${(error as Error).message}`);
        return reply.code(503).send({ error: 'rotation failed; retry later' });
      }
    }
    return reply.code(200).send({ handled: results.map((r) => r.outcome) });
  });

  return app;
}
