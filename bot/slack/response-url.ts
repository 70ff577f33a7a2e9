// Every POST to a Slack response_url (a command's answer, a click's reply or replacement, a late form
// outcome, a reveal in place) goes through here: node:http(s) with kept-alive connections
// (bot/http/post-json.ts), not Bolt's `respond`, which posts with the built-in fetch — about 0.8 ms more
// CPU per answer, on every lookup (WHATWG streams, Request and Headers objects, and a stack trace built
// for each connection it resets). Same contract as `respond`: any non-2xx answer is an error.
import { postJson } from '../http/post-json.ts';

/** Slack gives up on a response_url answer well before this; it bounds a hung connection. */
const TIMEOUT_MS = 10_000;

export async function postToResponseUrl(responseUrl: string, message: Record<string, unknown>): Promise<void> {
  const status = await postJson(responseUrl, message, TIMEOUT_MS);
  if (status < 200 || status > 299) throw new Error(`response_url answered ${status}`);
}
