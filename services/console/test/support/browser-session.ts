// What a browser does at the console and the issuer, by hand: it keeps cookies (one host, as the
// console and the issuer share 127.0.0.1 on their own ports) and follows redirects one at a time,
// so a test sees each step of the sign-in.

export class BrowserSession {
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie line the console or the issuer sent, for checking their flags. */
  readonly setCookies: string[] = [];

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      this.setCookies.push(line);
      const [pair, ...flags] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      if (!value || flags.some((f) => /^\s*max-age=0\s*$/i.test(f))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** Follows redirects until one leads to a URL starting with `stopAt` (not requested) or a page answers. */
  async follow(url: string, stopAt?: string, init: RequestInit = {}): Promise<{ url: string; response?: Response }> {
    let current = url;
    let response = await this.request(current, init);
    for (let hops = 0; response.status >= 300 && response.status < 400; hops++) {
      if (hops > 10) throw new Error(`too many redirects from ${url}`);
      current = new URL(response.headers.get('location')!, current).href;
      if (stopAt && current.startsWith(stopAt)) return { url: current };
      response = await this.request(current);
    }
    return { url: current, response };
  }

  /**
   * Signs in at the console as a person would: the console sends the browser to the issuer, whose
   * login form takes the password, and the issuer sends it back to the console's callback.
   * Returns the callback URL, not yet visited, unless `visitCallback`.
   */
  async signIn(consoleUrl: string, username: string, password: string, { visitCallback = true } = {}): Promise<{ callback: string; landed?: Response }> {
    const login = await this.follow(`${consoleUrl}/auth/login?return=/`);
    const html = await login.response!.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`no login form at ${login.url}: ${html.slice(0, 200)}`);
    const submitted = await this.follow(new URL(action, login.url).href, `${consoleUrl}/auth/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username, password }).toString(),
    });
    if (submitted.response) throw new Error(`the issuer did not come back to the console: HTTP ${submitted.response.status} at ${submitted.url}`);
    if (!visitCallback) return { callback: submitted.url };
    return { callback: submitted.url, landed: await this.request(submitted.url) };
  }

  get(url: string): Promise<Response> {
    return this.request(url, { headers: { accept: 'application/json' } });
  }

  post(url: string, body: unknown): Promise<Response> {
    return this.request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }
}
