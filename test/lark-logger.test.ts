// The Lark SDK logs through our logger; what it says about the connection stays, what it quotes of an
// event, a message or a response body does not (those may hold customer data).
import test from 'ava';
import { larkContentFree } from '../bot/lark/sdk-logger.ts';

test('the Lark SDK\'s messages keep their operational head and lose any payload', (t) => {
  const event = '{"event":{"message":{"content":"{\\"text\\":\\"13912345678\\"}"}}}';
  t.is(larkContentFree('[ws] code: 514, auth failed'), '[ws] code: 514, auth failed');
  t.is(larkContentFree(`[ws] receive message, message_type: event; message_id: m1; trace_id: t1; data: ${event}`),
    '[ws] receive message, message_type: event; message_id: m1; trace_id: t1;');
  t.is(larkContentFree(`[ws] ws client ready ${event}`), '[ws] ws client ready');
  t.is(larkContentFree('request failed, body= {"msg":"x"}'), 'request failed,');
  t.is(larkContentFree('content: 张三 13912345678'), '');
  t.is(larkContentFree('x'.repeat(500)).length, 200);
});
