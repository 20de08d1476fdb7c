// Drives `pagoda serve` with the official OpenAI client (npm `openai`) and compares what comes
// back with the offline engine's outputs that the C++ test wrote to EXPECTED.
//   node openai_client_test.mjs OPENAI_PACKAGE_DIR BASE_URL EXPECTED.json
// Prints one line per check; exits 1 on the first mismatch.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [pkgDir, baseURL, expectedPath] = process.argv.slice(2);
const { default: OpenAI } = await import(pathToFileURL(`${pkgDir}/index.mjs`).href);
const expected = JSON.parse(readFileSync(expectedPath, 'utf8'));
const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });

let failed = false;
function check(name, got, want) {
  const ok = JSON.stringify(got) === JSON.stringify(want);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`}`);
  if (!ok) failed = true;
}

const e = expected;
// Completions, not streamed.
const c = await client.completions.create({ model: 'kjv', prompt: e.prompt, max_tokens: e.max_tokens, temperature: 0 });
check('completion text', c.choices[0].text, e.completion);
check('completion finish_reason', c.choices[0].finish_reason, 'length');
check('completion usage', c.usage.completion_tokens, e.max_tokens);

// Completions, streamed, with usage.
let streamed = '';
let usage = null;
for await (const chunk of await client.completions.create({ model: 'kjv', prompt: e.prompt, max_tokens: e.max_tokens, temperature: 0, stream: true, stream_options: { include_usage: true } })) {
  if (chunk.choices.length) streamed += chunk.choices[0].text;
  if (chunk.usage) usage = chunk.usage;
}
check('streamed completion text', streamed, e.completion);
check('streamed completion usage', usage && usage.completion_tokens, e.max_tokens);

// Chat, not streamed and streamed.
const messages = [{ role: 'user', content: e.chat_user }];
const chat = await client.chat.completions.create({ model: 'kjv', messages, max_completion_tokens: e.max_tokens, temperature: 0 });
check('chat content', chat.choices[0].message.content, e.chat);
check('chat role', chat.choices[0].message.role, 'assistant');
let chatStreamed = '';
for await (const chunk of await client.chat.completions.create({ model: 'kjv', messages, max_tokens: e.max_tokens, temperature: 0, stream: true })) {
  chatStreamed += chunk.choices[0]?.delta?.content ?? '';
}
check('streamed chat content', chatStreamed, e.chat);

// n > 1 (seeded sampling): n choices, indices 0..n-1, reproducible.
const nReq = { model: 'kjv', prompt: e.prompt, max_tokens: 8, n: 3, seed: 11, temperature: 1.0 };
const n1 = await client.completions.create(nReq);
const n2 = await client.completions.create(nReq);
check('n choices', n1.choices.map((x) => x.index), [0, 1, 2]);
check('n reproducible with a seed', n1.choices.map((x) => x.text), n2.choices.map((x) => x.text));

// Stop strings.
const s = await client.completions.create({ model: 'kjv', prompt: e.prompt, max_tokens: e.max_tokens, temperature: 0, stop: [e.stop] });
check('stop text', s.choices[0].text, e.completion_before_stop);
check('stop finish_reason', s.choices[0].finish_reason, 'stop');

// Logprobs.
const l = await client.completions.create({ model: 'kjv', prompt: e.prompt, max_tokens: 5, temperature: 0, logprobs: 2 });
check('logprobs count', l.choices[0].logprobs.token_logprobs.length, 5);
check('logprobs values', l.choices[0].logprobs.token_logprobs.map((x) => Math.round(x * 1000) / 1000), e.logprobs.map((x) => Math.round(x * 1000) / 1000));
const cl = await client.chat.completions.create({ model: 'kjv', messages, max_tokens: 3, temperature: 0, logprobs: true, top_logprobs: 2 });
check('chat logprobs', cl.choices[0].logprobs.content.map((x) => x.top_logprobs.length), [2, 2, 2]);

// Errors surface as the client's typed errors with the server's status.
try {
  await client.completions.create({ model: 'no-such-model', prompt: 'Hi', max_tokens: 2 });
  check('unknown model rejected', 'accepted', 'rejected');
} catch (err) {
  check('unknown model status', err.status, 404);
}
const models = await client.models.list();
check('models', models.data.map((m) => m.id), ['kjv', 'default']);

process.exit(failed ? 1 : 0);
