// SCIM error responses (RFC 7644 §3.12): every refusal is a ScimError carrying the HTTP status, the
// `scimType` where the RFC defines one, and a detail sentence that names attributes and settings only,
// never a value the identity provider sent (those are personal data and end up in its logs).
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type ScimType = 'invalidFilter' | 'tooMany' | 'uniqueness' | 'mutability' | 'invalidSyntax' | 'invalidPath' | 'noTarget' | 'invalidValue' | 'invalidVers' | 'sensitive';

export class ScimError extends Error {
  constructor(readonly status: number, readonly detail: string, readonly scimType?: ScimType, readonly headers: Record<string, string> = {}) {
    super(detail);
    this.name = 'ScimError';
  }

  /** A short stable reason for the audit record (`scim.refused` reasonCode). */
  get reason(): string {
    return this.scimType ?? `http${this.status}`;
  }

  body(): Record<string, unknown> {
    return { schemas: [ERROR_SCHEMA], status: String(this.status), ...(this.scimType ? { scimType: this.scimType } : {}), detail: this.detail };
  }
}

export const badRequest = (scimType: ScimType, detail: string) => new ScimError(400, detail, scimType);
export const notFound = (what: string) => new ScimError(404, `${what} not found`);
/** A SCIM feature this endpoint does not offer (RFC 7644 §3.12: 501 Not Implemented); ServiceProviderConfig says so too. */
export const notImplemented = (detail: string) => new ScimError(501, detail);
