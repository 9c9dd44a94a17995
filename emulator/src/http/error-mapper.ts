// The one place errors become HTTP responses. Every error a client sees is the Key Vault envelope
// {error:{code,message,innererror?}} (spec §3 KeyVaultError), including Fastify's own 400/404/413/415
// errors and anything unexpected (logged, answered 500 without internals). Management-plane routes
// (surface 'arm') answer ARM's envelope {error:{code,message}} with ARM's codes instead, for their own
// errors (ArmError) and for Fastify's alike.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { ArmError, armErrors, KvError, errors, type KvErrorCode } from '../errors.js';

const STATUS: Record<KvErrorCode, number> = {
  BadParameter: 400,
  'Malformed backup blob': 400,
  NotSupported: 400,
  Unauthorized: 401,
  Forbidden: 403,
  SecretNotFound: 404,
  NotFound: 404,
  MethodNotAllowed: 405,
  RequestTimeout: 408,
  Conflict: 409,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Throttled: 429,
  InternalServerError: 500,
  BadGateway: 502,
  ServiceUnavailable: 503,
  GatewayTimeout: 504,
};

export function statusOf(error: KvError): number {
  return STATUS[error.code];
}

export function errorBody(error: KvError): { error: Record<string, unknown> } {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(error.innerCode !== undefined && { innererror: { code: error.innerCode } }),
    },
  };
}

export function sendError(reply: FastifyReply, error: KvError | ArmError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  if (error instanceof ArmError) {
    return reply.code(error.status).type('application/json; charset=utf-8').send({ error: { code: error.code, message: error.message } });
  }
  return reply.code(statusOf(error)).type('application/json; charset=utf-8').send(errorBody(error));
}

/** A catalog error of the data plane, as the management plane words the same refusal. */
function armEquivalent(error: KvError): ArmError {
  switch (error.code) {
    case 'UnsupportedMediaType':
      return new ArmError(415, 'UnsupportedMediaType', error.message);
    case 'RequestEntityTooLarge':
      return new ArmError(413, 'RequestEntityTooLarge', error.message);
    case 'BadParameter':
      return /not valid JSON|body is empty/.test(error.message) ? armErrors.invalidRequestContent(error.message) : armErrors.badRequest(error.message);
    case 'InternalServerError':
    case 'ServiceUnavailable':
      return armErrors.internal();
    default:
      return new ArmError(statusOf(error), statusOf(error) === 404 ? 'NotFound' : 'BadRequest', error.message);
  }
}

const onManagementPlane = (request: FastifyRequest) => (request.kv?.surface ?? request.routeOptions?.config?.surface) === 'arm';

/** Translates Fastify's own errors (body parsing, limits, media types) into catalog errors. */
function fromFastify(error: FastifyError, request: FastifyRequest): KvError {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(String(request.headers['content-type'] ?? ''));
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.bodyTooLarge(request.routeOptions.bodyLimit ?? 0);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.badParameter('The request body is empty; a JSON object is required.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errors.badParameter('The request body is not valid JSON.');
    default:
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        return errors.badParameter(error.message);
      }
      return errors.internal();
  }
}

/**
 * A body over the limit is refused while the client may still be sending it. Closing the connection
 * then lets the client's TCP stack discard the 413 on the reset that follows, so a body declared up to
 * this size is read and thrown away instead, and the client reads its answer.
 */
const DRAIN_LIMIT = 16 * 1024 * 1024;

function drainRatherThanClose(request: FastifyRequest, reply: FastifyReply): void {
  const declared = Number(request.headers['content-length']);
  if (Number.isInteger(declared) && declared <= DRAIN_LIMIT) reply.removeHeader('connection');
}

export interface ErrorMapperOptions {
  /** Names a storage failure (disk full, read-only...) as the 503 a client gets; undefined for other errors. */
  storageFault?: (error: unknown) => KvError | undefined;
}

export function installErrorMapper(app: FastifyInstance, notFound: (request: FastifyRequest) => KvError, options: ErrorMapperOptions = {}): void {
  app.setErrorHandler((error: FastifyError | KvError | ArmError, request, reply) => {
    if (error instanceof ArmError) return sendError(reply, error);
    if (error instanceof KvError) return sendError(reply, onManagementPlane(request) && error.code !== 'Unauthorized' ? armEquivalent(error) : error);
    const storage = options.storageFault?.(error);
    if (storage) return sendError(reply, storage);
    if ((error as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') drainRatherThanClose(request, reply);
    const mapped = fromFastify(error as FastifyError, request);
    if (mapped.code === 'InternalServerError') request.log.error({ err: error }, 'unexpected error');
    return sendError(reply, onManagementPlane(request) ? armEquivalent(mapped) : mapped);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, notFound(request)));
}

/**
 * Fastify's own answers to URLs its router cannot take (bad percent-encoding, a parameter over
 * maxParamLength) bypass the error handler unless given here (Fastify's `frameworkErrors` option).
 */
export function handleFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  request.log.debug({ err: error }, 'request refused by the router');
  return sendError(reply, error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? errors.invalidUri() : fromFastify(error, request));
}

/**
 * Requests Node's HTTP parser refuses before any route runs (headers over the limit, a request not
 * received in time, bytes that are not HTTP) get the envelope too, on a connection then closed: the
 * client learns what happened and never reuses a socket the server is dropping.
 */
export function handleClientError(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // A TLS connection whose handshake failed or timed out (a silent client, bytes that are not TLS) has no
  // session to answer on: closed at once.
  if (error.code?.startsWith('ERR_TLS_') || error.code?.startsWith('ERR_SSL_')) {
    socket.destroy();
    return;
  }
  // The parser fails again on every later chunk of a refused request: the first failure is answered.
  if (refused.has(socket)) return;
  refused.add(socket);
  const kvError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? errors.headersTooLarge()
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? errors.requestTimeout()
        : errors.malformedRequest();
  this.log.debug({ err: error }, 'client error');
  // A response still being written on this socket must not be interleaved with another; one that is
  // complete but not yet flushed (a TLS write finishes in a later turn) is simply followed by this one.
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean; writableEnded?: boolean } })._httpMessage;
  if (!socket.writable || (current?.headersSent && !current.writableEnded)) {
    socket.destroy();
    return;
  }
  const status = statusOf(kvError);
  const body = JSON.stringify(errorBody(kvError));
  // A lingering close: the answer is sent and the sending side shut, but what the client still sends
  // (the rest of a refused request) is read and dropped until the client closes its side, which it does
  // on `connection: close`. Closing at once would reset the connection under unread bytes, and the reset
  // would discard the answer before the client reads it. A client that never closes is cut off after a
  // few seconds.
  const closeAnyway = setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS);
  closeAnyway.unref();
  socket.once('close', () => clearTimeout(closeAnyway));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

const CLIENT_ERROR_LINGER_MS = 5_000;
const refused = new WeakSet<Socket>();
