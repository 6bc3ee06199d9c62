import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PrometheusMetrics } from '../../src/adapters/metrics/prometheus-metrics.js';

describe('the Grafana dashboard (dashboards/grafana-idlehook.json)', () => {
  it('charts only metrics the bridge exposes, and every idlehook metric has a panel', async () => {
    const dashboard = JSON.parse(
      readFileSync(join(import.meta.dirname, '../../dashboards/grafana-idlehook.json'), 'utf8'),
    ) as { panels: { title: string; targets: { expr: string }[] }[] };
    const metrics = new PrometheusMetrics({
      connectionsByState: () => new Map(),
      queues: () => [],
      deadLetters: () => 0,
    });
    const exposed = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    const charted = new Set<string>();
    for (const panel of dashboard.panels)
      for (const { expr } of panel.targets)
        for (const [name] of expr.matchAll(/\b(?:idlehook|process|nodejs)_[a-z_]+/g)) {
          const metric = name.replace(/_(bucket|sum|count)$/, '');
          assert.ok(exposed.has(metric), `${panel.title}: ${metric} is not a metric the bridge exposes`);
          charted.add(metric);
        }
    for (const name of exposed)
      if (name.startsWith('idlehook_')) assert.ok(charted.has(name), `${name} has no panel`);
  });
});
