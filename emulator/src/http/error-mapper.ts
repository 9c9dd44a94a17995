// The one place errors become HTTP responses. Every error a client sees is the Key Vault envelope
// {error:{code,message,innererror?}} (spec §3 KeyVaultError), including Fastify's own 400/404/413/415
// errors and anything unexpected (logged, answered 500 without internals).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KvError, errors, type KvErrorCode } from '../errors.js';

const STATUS: Record<KvErrorCode, number> = {
  BadParameter: 400,
  'Malformed backup blob': 400,
  NotSupported: 400,
  Unauthorized: 401,
  Forbidden: 403,
  SecretNotFound: 404,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Throttled: 429,
  InternalServerError: 500,
  ServiceUnavailable: 503,
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

export function sendError(reply: FastifyReply, error: KvError): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
  return reply.code(statusOf(error)).type('application/json; charset=utf-8').send(errorBody(error));
}

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

export function installErrorMapper(app: FastifyInstance, notFound: (request: FastifyRequest) => KvError): void {
  app.setErrorHandler((error: FastifyError | KvError, request, reply) => {
    if (error instanceof KvError) return sendError(reply, error);
    const mapped = fromFastify(error as FastifyError, request);
    if (mapped.code === 'InternalServerError') request.log.error({ err: error }, 'unexpected error');
    return sendError(reply, mapped);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, notFound(request)));
}
