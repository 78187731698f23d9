// EventBridge PutEvents: each entry becomes an event on the twin's bus, as EventBridge builds it.
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html

import { randomUUID } from 'node:crypto';
import { AwsError } from './aws-error';
import { type BusEvent, makeEvent } from './event-envelope';

/** PutEvents limits the request to 256 KB in total. */
const MAX_REQUEST_BYTES = 256 * 1024;

interface Entry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  EventBusName?: string;
}

/** Answers PutEvents; accepted events are handed to `publish`. */
export function putEvents(input: { Entries?: Entry[] }, nowMs: number, publish: (event: BusEvent) => void) {
  const entries = input.Entries ?? [];
  if (entries.length < 1 || entries.length > 10) {
    throw new AwsError(
      'ValidationException',
      "1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10",
    );
  }
  const size = entries.reduce((sum, entry) => sum + Buffer.byteLength(JSON.stringify(entry)), 0);
  if (size > MAX_REQUEST_BYTES)
    throw new AwsError('ValidationException', 'Total size of the entries in the request is over the limit.');
  let failed = 0;
  const results = entries.map((entry) => {
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail ?? '');
    } catch {
      detail = undefined;
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      failed += 1;
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (!entry.Source || !entry.DetailType) {
      failed += 1;
      return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Source and DetailType are required.' };
    }
    const event = makeEvent(
      entry.Source,
      entry.DetailType,
      detail as Record<string, unknown>,
      nowMs,
      entry.Resources ?? [],
      randomUUID(),
    );
    publish(event);
    return { EventId: event.id };
  });
  return { FailedEntryCount: failed, Entries: results };
}
