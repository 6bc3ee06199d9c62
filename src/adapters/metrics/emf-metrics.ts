import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { PIPELINE_METRICS } from '../../config/deployment.js';
import type { Metrics } from '../../ports/services.js';

const OUTCOME_METRICS: ReadonlyMap<string, string> = new Map([
  ['delivered', PIPELINE_METRICS.delivered],
  ['retry', PIPELINE_METRICS.retried],
  ['dead-lettered', PIPELINE_METRICS.deadLettered],
]);

const STATUS_CLASS_SUFFIXES = new Map([
  ['2xx', '2xx'],
  ['3xx', '3xx'],
  ['4xx', '4xx'],
  ['5xx', '5xx'],
  ['none', 'NoResponse'],
]);

/**
 * The Metrics port for the functions: Powertools Metrics, which writes CloudWatch's embedded metric format to the
 * log, so publishing costs no API call. One log line per invocation (`flush`), with the `service` dimension the
 * construct's dashboard and alarms use.
 */
export class EmfMetrics implements Metrics {
  private readonly metrics: PowertoolsMetrics;

  constructor(service: string) {
    this.metrics = new PowertoolsMetrics({ namespace: PIPELINE_METRICS.namespace, serviceName: service });
  }

  login(): void {
    // The watcher counts logins (Prometheus on its health port); the functions make none.
  }

  /** One count for every type: the per-type breakdown is in the Prometheus figures and the parse log. */
  eventQueued(_type: string): void {
    this.metrics.addMetric(PIPELINE_METRICS.eventsQueued, MetricUnit.Count, 1);
  }

  /**
   * Totals only: a CloudWatch dimension per subscription would be a custom metric per subscription, each billed
   * monthly. Local mode's /metrics counts per subscription.
   */
  filterOutcome(_subscriptionId: string, matched: boolean): void {
    const name = matched ? PIPELINE_METRICS.filterMatched : PIPELINE_METRICS.filteredOut;
    this.metrics.addMetric(name, MetricUnit.Count, 1);
  }

  deliveryAttempt(attempt: Parameters<Metrics['deliveryAttempt']>[0]): void {
    const outcome = OUTCOME_METRICS.get(attempt.outcome);
    if (outcome) this.metrics.addMetric(outcome, MetricUnit.Count, 1);
    const suffix = STATUS_CLASS_SUFFIXES.get(attempt.statusClass) ?? 'Other';
    this.metrics.addMetric(`${PIPELINE_METRICS.attemptsByStatusClass}${suffix}`, MetricUnit.Count, 1);
    if (attempt.eventAgeMs !== undefined)
      this.metrics.addMetric(PIPELINE_METRICS.eventAgeAtAttempt, MetricUnit.Milliseconds, attempt.eventAgeMs);
    if (attempt.sinceDetectedMs !== undefined)
      this.metrics.addMetric(
        PIPELINE_METRICS.deliveryLatency,
        MetricUnit.Milliseconds,
        attempt.sinceDetectedMs,
      );
    if (attempt.endToEndMs !== undefined)
      this.metrics.addMetric(PIPELINE_METRICS.endToEndLatency, MetricUnit.Milliseconds, attempt.endToEndMs);
  }

  /** Writes what this invocation counted as one EMF line; nothing when it counted nothing. */
  flush(): void {
    if (this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
  }
}
