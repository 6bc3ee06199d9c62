import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

/**
 * An alarm that notifies `topic`. It fires on one period at or above the threshold; a metric that must keep
 * arriving (`missingBreaches`) fires after three periods below it or missing.
 */
export function notifyingAlarm(
  scope: Construct,
  id: string,
  options: {
    readonly metric: cloudwatch.IMetric;
    readonly threshold: number;
    readonly description: string;
    readonly topic: sns.ITopic;
    readonly missingBreaches?: boolean;
  },
): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    metric: options.metric,
    threshold: options.threshold,
    evaluationPeriods: options.missingBreaches ? 3 : 1,
    comparisonOperator: options.missingBreaches
      ? cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
      : cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: options.missingBreaches
      ? cloudwatch.TreatMissingData.BREACHING
      : cloudwatch.TreatMissingData.NOT_BREACHING,
    alarmDescription: options.description,
  });
  alarm.addAlarmAction(new actions.SnsAction(options.topic));
  return alarm;
}
