/** `Host` header values a loopback server answers to, with or without a port (config host names: isLoopbackHost). */
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i;

/**
 * A page on another site can point a DNS name it controls at 127.0.0.1 (DNS rebinding) and read this server
 * as same-origin; its requests then carry that name in `Host`. Answering only loopback names stops it.
 */
export function isLoopbackHostHeader(host: string | undefined): boolean {
  return host !== undefined && LOOPBACK_HOST.test(host);
}
