/**
 * Single sign-on in API tests: the provider's leg as a browser walks it (cookies kept, redirects
 * followed one by one, the sign-in form posted), against the real provider of the test kit; our
 * API's legs through `inject`, with the sign-in cookie a browser would carry.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Agent, fetch } from 'undici';

export class ProviderBrowser {
  private readonly jar = new Map<string, string>();
  private readonly agent: Agent;

  constructor(
    private readonly issuer: string,
    ca: string,
  ) {
    this.agent = new Agent({ connect: { ca } });
  }

  private async request(url: string, form?: Record<string, string>) {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      dispatcher: this.agent,
      headers: {
        cookie: [...this.jar].map(([name, value]) => `${name}=${value}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair!.indexOf('=');
      this.jar.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    const location = response.headers.get('location');
    return { status: response.status, location: location ? new URL(location, url).href : null, text: await response.text() };
  }

  /**
   * From our redirect to the provider, through its sign-in form as `login`, to the redirect that
   * leaves the provider (our callback with the code). Throws if the provider keeps the browser.
   */
  async signIn(authorizeUrl: string, login: string): Promise<URL> {
    let url = authorizeUrl;
    for (let hop = 0; hop < 10; hop++) {
      if (!url.startsWith(this.issuer)) return new URL(url);
      const answer = await this.request(url);
      if (answer.location) {
        url = answer.location;
        continue;
      }
      if (answer.status === 200 && answer.text.includes('<form')) {
        const posted = await this.request(url, { login });
        if (!posted.location) throw new Error(`the provider did not accept ${login}: ${posted.status}`);
        url = posted.location;
        continue;
      }
      throw new Error(`the provider answered ${answer.status}: ${answer.text.slice(0, 200)}`);
    }
    throw new Error('too many redirects at the provider');
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

export const SSO_COOKIE = 'pacs_sso';

/** GET /api/auth/oidc/login: the provider's authorization URL and the browser's sign-in cookie. */
export async function startSignIn(app: FastifyInstance, returnTo?: string): Promise<{ authorizeUrl: string; binding: string }> {
  const response = await app.inject({ method: 'GET', url: '/api/auth/oidc/login', query: returnTo ? { returnTo } : {} });
  if (response.statusCode !== 303) throw new Error(`sign-in start answered ${response.statusCode}: ${response.body}`);
  const binding = response.cookies.find((c) => c.name === SSO_COOKIE)?.value;
  if (!binding) throw new Error('no sign-in cookie');
  return { authorizeUrl: String(response.headers.location), binding };
}

/** Our callback as the browser reaches it after the provider. */
export function callback(app: FastifyInstance, url: URL, binding: string | null): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'GET',
    url: `${url.pathname}${url.search}`,
    cookies: binding === null ? {} : { [SSO_COOKIE]: binding },
  });
}

/** Where a callback sent the browser: the app (with ?signin=sso) or the login page with the reason. */
export function landing(response: LightMyRequestResponse): { path: string; error: string | null } {
  const target = new URL(String(response.headers.location), 'http://app.invalid');
  return { path: target.pathname, error: target.searchParams.get('sso_error') };
}
