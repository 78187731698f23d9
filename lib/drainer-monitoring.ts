// Alarms and a dashboard over the drainer Lambda's EMF metrics (lambda/telemetry.ts), its errors, the event
// queues and the failed-events queue.

import {
  aws_cloudwatch as cloudwatch,
  Duration,
  type aws_lambda as lambda,
  type aws_sqs as sqs,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DRAIN_TRIGGERS, METRICS_NAMESPACE, TRIGGER_DIMENSION } from '../lambda/telemetry-names';
import { EVENT_QUEUE_AGE_ALARM } from './defaults';

/** Outcomes that mean a drain did not end well: each gets an alarm. */
export const ALARMED_OUTCOMES = ['incomplete', 'failed', 'unreachable'] as const;
/** Every outcome the Lambda records. */
export const OUTCOMES = [
  'drained',
  'forced',
  'incomplete',
  'failed',
  'unreachable',
  'skipped',
  'expired',
  'prepared',
] as const;
/**
 * What starts a drain (the `trigger` dimension of DrainsStarted): a terminate lifecycle action, EC2's Spot
 * interruption warning, or a rebalance recommendation (`onRebalanceRecommendation`).
 */
export const TRIGGERS = DRAIN_TRIGGERS;
const PERIOD = Duration.minutes(5);
/** The Lambda errors alarm: errors in this many of the last few periods (a lone retried failure is not one). */
const LAMBDA_ERROR_PERIODS = { datapointsToAlarm: 2, evaluationPeriods: 3 };
/** A dashboard row is 24 columns wide: one or three widgets to a row. */
const FULL_WIDTH = 24;
const THIRD_WIDTH = FULL_WIDTH / 3;
/** What the dashboard shows when opened: the last day of drains. */
const DASHBOARD_INTERVAL = Duration.days(1);

/**
 * A metric of one drainer's Lambda: Powertools adds the `service` dimension to every metric, and each drainer
 * has its own service name.
 */
export function drainerMetric(
  serviceName: string,
  metricName: string,
  options: { outcome?: string; trigger?: string; statistic?: string; period?: Duration } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: {
      service: serviceName,
      ...(options.outcome === undefined ? {} : { outcome: options.outcome }),
      ...(options.trigger === undefined ? {} : { [TRIGGER_DIMENSION]: options.trigger }),
    },
    statistic: options.statistic ?? 'Sum',
    period: options.period ?? PERIOD,
  });
}

export interface DrainerMonitoringProps {
  readonly function: lambda.IFunction;
  readonly failedEventsQueue: sqs.IQueue;
  /** The queues the lifecycle and status events wait in for the function. */
  readonly eventQueues: { readonly lifecycle: sqs.IQueue; readonly status: sqs.IQueue };
  readonly maxDrainTime: Duration;
  readonly alarms: boolean;
  /** The drainer's service name: the `service` dimension of its metrics. */
  readonly serviceName: string;
}

export class DrainerMonitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: DrainerMonitoringProps) {
    super(scope, id);
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, description: string, extra = {}) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        metric,
        // At the first one: one bad drain or one undelivered event is worth a look.
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No drain, no datapoint: that is fine.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `fleet-drainer: ${description}`,
        ...extra,
      });
      this.alarms.push(created);
      return created;
    };

    if (props.alarms) {
      for (const outcome of ALARMED_OUTCOMES) {
        const title = outcome.charAt(0).toUpperCase() + outcome.slice(1);
        alarm(
          `Drains${title}`,
          drainerMetric(props.serviceName, 'DrainsFinished', { outcome }),
          `a drain finished as "${outcome}" (see the Fleet Drain Finished event and the agent's report)`,
        );
      }
      // A drain still running past its deadline plus the expiry grace is completed as `expired`: an
      // instance waited longer than the maximum drain time.
      alarm(
        'DrainsExpired',
        drainerMetric(props.serviceName, 'DrainsFinished', { outcome: 'expired' }),
        `an instance waited longer than the maximum drain time (${props.maxDrainTime.toHumanString()})`,
      );
      alarm(
        'LambdaErrors',
        props.function.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        `the drainer Lambda failed in ${LAMBDA_ERROR_PERIODS.datapointsToAlarm} of the last ` +
          `${LAMBDA_ERROR_PERIODS.evaluationPeriods} periods of ${PERIOD.toMinutes()} minutes (retried invocations included)`,
        LAMBDA_ERROR_PERIODS,
      );
      alarm(
        'FailedEvents',
        props.failedEventsQueue.metricApproximateNumberOfMessagesVisible({
          period: PERIOD,
          statistic: 'Maximum',
        }),
        'events that EventBridge, SQS or Lambda could not deliver after retries are waiting in the failed-events queue',
      );
      // The function takes a few batches at a time: a storm waits in the queue, which is fine for a while,
      // but every minute an event waits is a minute of its lifecycle action's HeartbeatTimeout.
      const ageMinutes = EVENT_QUEUE_AGE_ALARM.toMinutes();
      for (const [name, queue] of Object.entries(props.eventQueues)) {
        alarm(
          `${name.charAt(0).toUpperCase()}${name.slice(1)}EventsWaiting`,
          queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum' }),
          `events have waited ${ageMinutes} minutes in the ${name} queue: drains start or finish late`,
          { threshold: EVENT_QUEUE_AGE_ALARM.toSeconds() },
        );
      }
      alarm(
        'ConfigErrors',
        drainerMetric(props.serviceName, 'ConfigErrors'),
        'the drainer Lambda rejects its configuration or a call as a configuration error (see its log)',
      );
    }

    const outcomes = OUTCOMES.map((outcome) =>
      drainerMetric(props.serviceName, 'DrainsFinished', { outcome }).with({ label: outcome }),
    );
    const triggers = TRIGGERS.map((trigger) =>
      drainerMetric(props.serviceName, 'DrainsStarted', { trigger }).with({ label: trigger }),
    );
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: DASHBOARD_INTERVAL,
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Drains finished, by outcome',
            left: outcomes,
            stacked: true,
            width: THIRD_WIDTH,
          }),
          new cloudwatch.GraphWidget({
            title: 'Drains started, by trigger (Spot interruptions, rebalance recommendations)',
            left: triggers,
            stacked: true,
            width: THIRD_WIDTH,
          }),
          new cloudwatch.GraphWidget({
            title: 'Drain duration (drained, forced)',
            left: ['p50', 'p90', 'Maximum'].flatMap((statistic) =>
              ['drained', 'forced'].map((outcome) =>
                drainerMetric(props.serviceName, 'DrainDuration', { outcome, statistic }).with({
                  label: `${outcome} ${statistic}`,
                }),
              ),
            ),
            width: THIRD_WIDTH,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Drains started and finished (the gap is what is in flight)',
            left: [
              drainerMetric(props.serviceName, 'DrainsStarted').with({ label: 'started' }),
              new cloudwatch.MathExpression({
                expression: OUTCOMES.map((_, i) => `FILL(f${i}, 0)`).join(' + '),
                usingMetrics: Object.fromEntries(outcomes.map((metric, i) => [`f${i}`, metric])),
                label: 'finished',
                period: PERIOD,
              }),
            ],
            width: THIRD_WIDTH,
          }),
          new cloudwatch.GraphWidget({
            title: 'Heartbeats, adoptions, actions gone',
            left: [
              drainerMetric(props.serviceName, 'Heartbeats').with({ label: 'heartbeats' }),
              drainerMetric(props.serviceName, 'Adoptions').with({ label: 'adopted (lifecycle event lost)' }),
              drainerMetric(props.serviceName, 'LifecycleActionsGone').with({
                label: 'lifecycle action gone',
              }),
            ],
            width: THIRD_WIDTH,
          }),
          new cloudwatch.GraphWidget({
            title: 'Drainer Lambda',
            left: [
              props.function.metricInvocations({ period: PERIOD }),
              props.function.metricErrors({ period: PERIOD }),
            ],
            right: [props.failedEventsQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD })],
            width: THIRD_WIDTH,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Event queues: events waiting (left), age of the oldest in seconds (right)',
            left: Object.entries(props.eventQueues).map(([name, queue]) =>
              queue
                .metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' })
                .with({ label: `${name} waiting` }),
            ),
            right: Object.entries(props.eventQueues).map(([name, queue]) =>
              queue
                .metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum' })
                .with({ label: `${name} oldest` }),
            ),
            width: FULL_WIDTH,
          }),
        ],
        ...(this.alarms.length > 0
          ? [
              [
                new cloudwatch.AlarmStatusWidget({
                  title: 'fleet-drainer alarms',
                  alarms: this.alarms,
                  width: FULL_WIDTH,
                }),
              ],
            ]
          : []),
      ],
    });
  }
}
