// The policy's security settings are part of the policy schema: policies/security-settings.ts.
export * from '../../../policies/security-settings.ts';
