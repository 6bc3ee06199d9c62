import { connect } from 'node:net';
import { isLoopbackHost } from '../../config/schema.js';
import type { HttpSender, WebhookRequest, WebhookResponse } from '../../ports/pipeline.js';

/** How often a refused receiver on this machine is tried: a TCP connect, no request (nothing is sent twice). */
const PROBE_EVERY_MS = 1_000;
/** After this long the receiver is left to the retry schedule alone. */
const PROBE_FOR_MS = 60 * 60_000;

/**
 * A receiver on this machine that refused a delivery has not been started yet (a developer's `idlehook listen`,
 * a local app restarting). The retry schedule would make its next attempt wait minutes; instead, its port is tried
 * every second, and once it accepts connections `onAnswering(origin)` runs (local mode: retry that receiver's
 * deliveries now). Only loopback receivers: a refused remote endpoint keeps its schedule, which spares it a storm.
 */
export class LoopbackReceiverWake implements HttpSender {
  private readonly probes = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly sender: HttpSender,
    private readonly onAnswering: (origin: string) => Promise<void>,
  ) {}

  async send(request: WebhookRequest): Promise<WebhookResponse> {
    const response = await this.sender.send(request);
    if (response.refused) this.probe(new URL(request.url));
    return response;
  }

  /** Stops every probe (their timers never keep the process up, but a stopped bridge acts on nothing). */
  close(): void {
    for (const timer of this.probes.values()) clearTimeout(timer);
    this.probes.clear();
  }

  private probe(url: URL): void {
    if (!isLoopbackHost(url.hostname) || this.probes.has(url.origin)) return;
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const until = Date.now() + PROBE_FOR_MS;
    const attempt = () => {
      const socket = connect({ host, port });
      socket.unref();
      socket.once('connect', () => {
        socket.destroy();
        this.probes.delete(url.origin);
        // The callback reports its own failures; a probe has nobody to tell.
        this.onAnswering(url.origin).catch(() => undefined);
      });
      socket.once('error', () => {
        socket.destroy();
        if (!this.probes.has(url.origin)) return;
        if (Date.now() >= until) this.probes.delete(url.origin);
        else this.probes.set(url.origin, setTimeout(attempt, PROBE_EVERY_MS).unref());
      });
    };
    this.probes.set(url.origin, setTimeout(attempt, PROBE_EVERY_MS).unref());
  }
}
