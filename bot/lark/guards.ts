// How long Lark's once-only keys live (bot/runtime/once.ts does the checks):
//  - nonces: a signed request replayed inside the timestamp window is refused (401), failing closed;
//  - event ids: Lark re-pushes an event it thinks failed at about 15 s, 5 min, 1 h and 6 h (≈ 7.1 h),
//    so the first delivery of each `event_id` is kept for 24 h and later copies are answered and dropped.
export const NONCE_TTL_SECONDS = 600; // twice the ±300 s timestamp window
export const EVENT_TTL_SECONDS = 86_400; // Lark's retries end after about 7.1 h
