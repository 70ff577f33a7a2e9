// A SCIM client as an identity provider is one: JSON over HTTP with a bearer token, to /scim/v2 of a
// running bot. Used by the SCIM tests and the bench.
export const SCIM_TOKEN = 'scim-test-token-0123456789abcdefghijklmnop';
export const SCIM_TOKEN_2 = 'scim-test-token-rotated-0123456789abcdefgh';
export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/** Answers are read as loosely as an IdP reads them: any JSON shape, asserted by the tests. */
export type ScimBody = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export interface ScimReply { status: number; body: ScimBody; headers: Headers }

export class ScimClient {
  constructor(readonly base: string, private readonly token: string | null = SCIM_TOKEN) {}

  async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ScimReply> {
    const raw = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const res = await fetch(`${this.base}/scim/v2${path}`, {
      method,
      headers: {
        accept: 'application/scim+json',
        ...(raw !== undefined ? { 'content-type': 'application/scim+json; charset=utf-8' } : {}),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      ...(raw !== undefined ? { body: raw } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) as ScimBody : {}, headers: res.headers };
  }

  get(path: string, headers?: Record<string, string>) { return this.send('GET', path, undefined, headers); }
  post(path: string, body: unknown) { return this.send('POST', path, body); }
  put(path: string, body: unknown, headers?: Record<string, string>) { return this.send('PUT', path, body, headers); }
  patch(path: string, ops: unknown[], headers?: Record<string, string>) { return this.send('PATCH', path, { schemas: [PATCH_OP], Operations: ops }, headers); }
  delete(path: string) { return this.send('DELETE', path); }
}

/** The user Okta's "Create Okta user with realistic values" step sends. */
export function oktaUser(userName: string, givenName: string, familyName: string, email = userName): Record<string, unknown> {
  return {
    schemas: [USER], userName, name: { givenName, familyName },
    emails: [{ primary: true, value: email, type: 'work' }], displayName: `${givenName} ${familyName}`, active: true,
  };
}
