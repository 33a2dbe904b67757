// The admin API with the signed-in token. The token lives in this tab's sessionStorage only:
// never in a URL, a cookie, localStorage or a log line.
const KEY = 'kefu.token';

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? (status === 401 ? 'unauthenticated' : undefined);
    this.reason = body?.error;
  }
}

// Called when the signed-in token is refused (revoked, or the Worker's tokens changed).
let unauthorized = () => {};
export function onUnauthorized(f) { unauthorized = f; }

// The roles, least to most privileged; `may(me, 'lead')`: whether the signed-in caller has at
// least that role (the API decides; the page only hides what would be refused).
const ROLES = ['agent', 'lead', 'owner'];
export const roleOf = (me) => me?.role ?? (me?.owner ? 'owner' : 'agent');
export const may = (me, needs) => ROLES.indexOf(roleOf(me)) >= ROLES.indexOf(needs);

// A customer's media (`GET /api/tickets/{id}/media/{entry}`) as a Blob, or the API's refusal.
export async function apiBlob(path) {
  let r;
  try {
    r = await fetch(path, { headers: { authorization: `Bearer ${token.get()}` }, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new ApiError(0, { error: String(e?.message ?? e), code: 'network' });
  }
  if (!r.ok) {
    let json = {};
    try { json = await r.json(); } catch { /* not JSON */ }
    if (r.status === 401) unauthorized();
    throw new ApiError(r.status, json);
  }
  return r.blob();
}

export async function api(path, options = {}) {
  return (await request(path, options)).json;
}

// The answer and its ETag (the version of the rules document, for If-Match).
export async function request(path, { method = 'GET', body, bearer = token.get(), headers = {} } = {}) {
  let r;
  try {
    r = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${bearer}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, { error: String(e?.message ?? e), code: 'network' });
  }
  const text = await r.text();
  let json;
  try { json = text ? JSON.parse(text) : {}; } catch { json = { error: text }; }
  if (!r.ok) {
    if (r.status === 401 && bearer === token.get()) unauthorized();
    throw new ApiError(r.status, json);
  }
  return { json, etag: r.headers.get('etag') };
}

// A key that makes a repeated POST (a double click, a retry) do its work once.
export function idempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}
