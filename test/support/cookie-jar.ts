/**
 * A browser's cookies, as far as the connect flow needs them: one jar per browser, by host, honouring Max-Age=0
 * (deletion). Paths and expiry are left out: every request in these tests stays under the cookie's path.
 */
export class CookieJar {
  private readonly byHost = new Map<string, Map<string, string>>();

  /** Keeps the cookies a response from `url` set. */
  store(url: string, setCookies: readonly string[]): void {
    const host = new URL(url).host;
    const jar = this.byHost.get(host) ?? new Map<string, string>();
    this.byHost.set(host, jar);
    for (const header of setCookies) {
      const [pair = '', ...attributes] = header.split(';').map((part) => part.trim());
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      if (attributes.some((a) => /^max-age=0$/i.test(a))) jar.delete(name);
      else jar.set(name, pair.slice(at + 1));
    }
  }

  /** The `name=value` pairs a request to `url` carries. */
  cookiesFor(url: string): string[] {
    return [...(this.byHost.get(new URL(url).host) ?? new Map<string, string>())].map(
      ([n, v]) => `${n}=${v}`,
    );
  }

  /** A request as a browser makes it: redirects not followed, its cookies sent, and the ones it gets kept. */
  async fetch(url: string): Promise<Response> {
    const cookies = this.cookiesFor(url);
    const response = await fetch(url, {
      redirect: 'manual',
      headers: cookies.length > 0 ? { cookie: cookies.join('; ') } : {},
    });
    this.store(url, response.headers.getSetCookie());
    return response;
  }
}
