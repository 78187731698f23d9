// Edge: EventBridge PutEvents for `Fleet Drain Started` / `Fleet Drain Finished` (source `fleet-drainer`).

import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
} from '@aws-sdk/client-eventbridge';
import { errorCode, errorMessage } from '../../common/errors';
import { EVENT_SOURCE, fitDetail } from '../decide/drain-events';
import { AwsCallError } from './errors';
import type { EventsPort } from './ports';

/** The events port for one bus over a real (or mocked) client. */
export function createEventsPort(client: EventBridgeClient, eventBusName: string): EventsPort {
  return {
    async putEvent(detailType, detail) {
      const entry = {
        Source: EVENT_SOURCE,
        DetailType: detailType,
        Detail: fitDetail(detail, detailType),
        EventBusName: eventBusName,
      };
      let response: PutEventsCommandOutput;
      try {
        response = await client.send(new PutEventsCommand({ Entries: [entry] }));
      } catch (error) {
        throw new AwsCallError(`PutEvents failed: ${errorCode(error) ?? 'Error'}: ${errorMessage(error)}`, {
          cause: error,
        });
      }
      // PutEvents reports a failed entry inside a successful response.
      const result = response.Entries?.[0];
      if ((response.FailedEntryCount ?? 0) > 0 || result?.ErrorCode) {
        throw new AwsCallError(
          `PutEvents entry failed: ${result?.ErrorCode ?? 'Error'}: ${result?.ErrorMessage ?? ''}`,
        );
      }
    },
  };
}
