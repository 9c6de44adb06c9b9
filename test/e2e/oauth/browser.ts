/**
 * A scripted browser for OAuth flows in tests: follows redirects with a cookie
 * jar, submits the consent form when it appears (Allow or Deny), and stops at
 * the first redirect to `stopAt` (the client's redirect URI), returning it.
 */
export type BrowseResult = { readonly url: URL; readonly visited: readonly string[] };

export const makeBrowser = () => {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar.entries()].map(([k, v]) => `${k}=${v}`).join('; ');
  const remember = (response: Response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair === undefined || eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  };

  const browse = async (start: string, stopAt: string, choice: 'allow' | 'deny' = 'allow'): Promise<BrowseResult> => {
    const visited: string[] = [];
    let next: { url: string; method: string; body?: string } = { url: start, method: 'GET' };
    for (let hop = 0; hop < 25; hop++) {
      if (next.url.startsWith(stopAt)) return { url: new URL(next.url), visited };
      visited.push(`${next.method} ${next.url}`);
      const response = await fetch(next.url, {
        method: next.method,
        redirect: 'manual',
        headers: { cookie: cookieHeader(), ...(next.body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) },
        ...(next.body === undefined ? {} : { body: next.body }),
      });
      remember(response);
      const location = response.headers.get('location');
      if (response.status >= 300 && response.status < 400 && location !== null) {
        next = { url: new URL(location, next.url).toString(), method: 'GET' };
        continue;
      }
      const html = await response.text();
      const form = /<form method="post" action="([^"]+)"><input type="hidden" name="csrf" value="([^"]+)">/.exec(html);
      if (response.status === 200 && form !== null) {
        const action = choice === 'allow' ? (form[1] as string) : (form[1] as string).replace(/\/confirm$/, '/abort');
        next = { url: new URL(action, next.url).toString(), method: 'POST', body: `csrf=${encodeURIComponent(form[2] as string)}` };
        continue;
      }
      throw new Error(`browser stopped at ${next.url}: ${response.status} ${html.slice(0, 300)}`);
    }
    throw new Error('too many redirects');
  };
  return { browse, cookies: jar };
};
