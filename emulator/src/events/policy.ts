// Delivery like Event Grid's (docs: "Event Grid message delivery and retry", delivery-and-retry.md):
// at least once; 200-204 acknowledge; a webhook's 400, 401, 403, 404 and 413 are not retried (the event is
// dead-lettered at once, or dropped when dead-lettering is off); timeouts, 408, 429, 5xx and anything else
// are retried on Event Grid's schedule (10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, then every
// 12 h) until the subscription's maxDeliveryAttempts or eventTimeToLiveInMinutes runs out, whichever comes
// first. Retry times are on the emulator clock: moving it forward brings retries due at once.
import type { Delivery, StoredSubscription } from './model.js';

/** What one attempt came to, as the dispatcher saw it. */
export type AttemptResult =
  | { kind: 'answered'; status: number }
  | { kind: 'timeout' }
  /** Refused, reset, unresolvable, or bytes that are not HTTP. */
  | { kind: 'failed'; code?: string; message: string };

export interface Outcome {
  /** The name the delivery view and dead letters show (Event Grid's lastDeliveryOutcome wording where known). */
  name: string;
  delivered: boolean;
  retry: boolean;
  status?: number;
}

const NOT_RETRIED: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  413: 'RequestEntityTooLarge',
};

export function outcomeOf(result: AttemptResult): Outcome {
  if (result.kind === 'timeout') return { name: 'TimedOut', delivered: false, retry: true };
  if (result.kind === 'failed') return { name: 'Unreachable', delivered: false, retry: true };
  const { status } = result;
  if (status >= 200 && status <= 204) return { name: 'Delivered', delivered: true, retry: false, status };
  const notRetried = NOT_RETRIED[status];
  if (notRetried) return { name: notRetried, delivered: false, retry: false, status };
  if (status === 408) return { name: 'TimedOut', delivered: false, retry: true, status };
  if (status === 429 || status === 503) return { name: 'Busy', delivered: false, retry: true, status };
  return { name: 'GenericError', delivered: false, retry: true, status };
}

/** Seconds between attempts: after the first failure 10 s, ..., then every 12 hours. */
export const RETRY_SCHEDULE_SECONDS: readonly number[] = [10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600];
const LAST_INTERVAL_SECONDS = 12 * 3600;

/** How long after the `attempts`-th failed attempt the next one is due. */
export function backoffMs(attempts: number): number {
  return (RETRY_SCHEDULE_SECONDS[attempts - 1] ?? LAST_INTERVAL_SECONDS) * 1000;
}

export type DeadLetterReason = 'MaxDeliveryAttemptsExceeded' | 'TimeToLiveExceeded' | 'UndeliverableDueToClientError';

export type Decision =
  | { state: 'delivered' }
  | { state: 'pending'; nextAttemptAt: number }
  | { state: 'deadLettered' | 'dropped'; reason: DeadLetterReason };

/** When an event stops being deliverable to a subscription (emulator ms). */
export function expiresAt(delivery: Pick<Delivery, 'publishedAt'>, subscription: Pick<StoredSubscription, 'eventTimeToLiveInMinutes'>): number {
  return delivery.publishedAt + subscription.eventTimeToLiveInMinutes * 60_000;
}

function finished(subscription: Pick<StoredSubscription, 'deadLetter'>, reason: DeadLetterReason): Decision {
  return { state: subscription.deadLetter ? 'deadLettered' : 'dropped', reason };
}

/** Whether a due delivery may still be attempted, or how it ends without one (its time to live is over). */
export function beforeAttempt(delivery: Pick<Delivery, 'publishedAt'>, subscription: StoredSubscription, now: number): Decision | undefined {
  return now >= expiresAt(delivery, subscription) ? finished(subscription, 'TimeToLiveExceeded') : undefined;
}

/** What follows an attempt: `attempts` counts it. */
export function afterAttempt(
  delivery: Pick<Delivery, 'publishedAt'> & { attempts: number },
  subscription: StoredSubscription,
  outcome: Outcome,
  now: number,
): Decision {
  if (outcome.delivered) return { state: 'delivered' };
  if (!outcome.retry) return finished(subscription, 'UndeliverableDueToClientError');
  if (delivery.attempts >= subscription.maxDeliveryAttempts) return finished(subscription, 'MaxDeliveryAttemptsExceeded');
  // The last retry of an event's life is when its time to live runs out; that attempt is not made.
  return { state: 'pending', nextAttemptAt: Math.min(now + backoffMs(delivery.attempts), expiresAt(delivery, subscription)) };
}
