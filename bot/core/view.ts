// Applying a policy decision to a customer (masking included) is the policy's: policies/view.ts.
export * from '../../policies/view.ts';
