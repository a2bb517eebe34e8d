// The OpenAI-compatible API (/v1) through the official `openai` npm client: models list and
// retrieve, chat completions and completions (streaming and not) against the stories260K
// golden output, embeddings (the client asks for base64 by default), error envelopes, and
// distinct completion ids. Each group is skipped while its route is missing.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { Server, bertGguf, collect, goldenContinuation } from './harness.mjs';

const server = await Server.start();
const ollama = new Ollama({ host: server.host });
const openai = new OpenAI({ baseURL: `${server.host}/v1`, apiKey: 'ollama', maxRetries: 0 });
const golden = goldenContinuation();

const noRoute = (method, path, body) =>
  server.hasRoute(method, path, body).then((ok) => (ok ? false : `${path} not routed yet`));
const probeChat = { model: 'probe-missing', messages: [{ role: 'user', content: 'x' }] };
const skipModels = await noRoute('GET', '/v1/models');
const skipChat = await noRoute('POST', '/v1/chat/completions', probeChat);
const skipCompletions = await noRoute('POST', '/v1/completions',
  { model: 'probe-missing', prompt: 'x' });
const skipEmbeddings = await noRoute('POST', '/v1/embeddings',
  { model: 'probe-missing', input: 'x' });
// Per-test options: each test is skipped until its route answers.
const onModels = { skip: skipModels };
const onChat = { skip: skipChat };
const onCompletions = { skip: skipCompletions };
const onEmbeddings = { skip: skipEmbeddings };

// `teller` renders "Once upon a " + the user text, so user "time" continues the golden story.
await server.createStories(ollama, 'stories', { template: '{{ .Prompt }}' });
await server.createStories(ollama, 'teller', { template: 'Once upon a {{ .Prompt }}' });
await server.createFrom(ollama, 'bert', bertGguf);

after(() => server.stop());

const kMaxTokens = 20;

function checkGolden(text) {
  assert.ok(text.length > 10, JSON.stringify(text));
  assert.ok(golden.continuation.startsWith(text),
    `not a prefix of the golden continuation:\n  got:    ${JSON.stringify(text)}\n  golden: ` +
    JSON.stringify(golden.continuation));
}

describe('openai client: models', () => {
  test('models.list() lists local models', onModels, async () => {
    const page = await openai.models.list();
    const ids = page.data.map((m) => m.id).sort();
    assert.deepEqual(ids, ['bert:latest', 'stories:latest', 'teller:latest']);
    for (const m of page.data) {
      assert.equal(m.object, 'model');
      assert.equal(m.owned_by, 'library');
      assert.ok(Number.isInteger(m.created) && m.created > 1.6e9, String(m.created));
    }
  });

  test('models.retrieve() returns one model and 404s for a missing one', onModels, async () => {
    const m = await openai.models.retrieve('stories');
    assert.equal(m.object, 'model');
    assert.equal(m.id, 'stories');  // the id as asked for
    assert.equal((await openai.models.retrieve('stories:latest')).id, 'stories:latest');
    await assert.rejects(openai.models.retrieve('nope'), (e) => {
      assert.ok(e instanceof OpenAI.NotFoundError, String(e));
      assert.equal(e.status, 404);
      return true;
    });
  });
});

describe('openai client: chat.completions', () => {
  const request = {
    model: 'teller', messages: [{ role: 'user', content: 'time' }], temperature: 0,
    max_tokens: kMaxTokens,
  };

  test('non-streaming returns a message and usage', onChat, async () => {
    const r = await openai.chat.completions.create(request);
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.model, 'teller');
    assert.ok(Number.isInteger(r.created));
    assert.equal(r.choices.length, 1);
    const c = r.choices[0];
    assert.equal(c.index, 0);
    assert.equal(c.message.role, 'assistant');
    checkGolden(c.message.content);
    assert.equal(c.finish_reason, 'length');
    assert.deepEqual(r.usage && {
      prompt_tokens: r.usage.prompt_tokens, completion_tokens: r.usage.completion_tokens,
      total_tokens: r.usage.total_tokens,
    }, { prompt_tokens: 5, completion_tokens: kMaxTokens, total_tokens: 5 + kMaxTokens });
  });

  test('streaming returns deltas, a finish chunk and usage', onChat, async () => {
    const stream = await openai.chat.completions.create({
      ...request, stream: true, stream_options: { include_usage: true },
    });
    const chunks = await collect(stream);
    assert.ok(chunks.length >= 3, `only ${chunks.length} chunks`);
    const ids = new Set(chunks.map((c) => c.id));
    assert.equal(ids.size, 1, 'one id per stream');
    const created = new Set(chunks.map((c) => c.created));
    assert.equal(created.size, 1, 'one created per stream');
    for (const c of chunks) assert.equal(c.object, 'chat.completion.chunk');
    const withChoices = chunks.filter((c) => c.choices.length > 0);
    assert.equal(withChoices[0].choices[0].delta.role, 'assistant');
    const text = withChoices.map((c) => c.choices[0].delta.content ?? '').join('');
    checkGolden(text);
    // OpenAI's schema: finish_reason is null until the one chunk that finishes.
    const finishes = withChoices.filter((c) => c.choices[0].finish_reason !== null);
    assert.equal(finishes.length, 1, JSON.stringify(withChoices.map((c) => c.choices[0])));
    assert.equal(finishes[0].choices[0].finish_reason, 'length');
    const usage = chunks.at(-1);
    assert.deepEqual(usage.choices, []);
    assert.equal(usage.usage.completion_tokens, kMaxTokens);
    assert.equal(usage.usage.prompt_tokens, 5);
    // The same text as the non-streaming call.
    const whole = await openai.chat.completions.create(request);
    assert.equal(text, whole.choices[0].message.content);
  });

  test('stop ends the message before the stop text', onChat, async () => {
    const cut = golden.continuation.indexOf(' girl');
    const r = await openai.chat.completions.create({ ...request, stop: [' girl'] });
    assert.equal(r.choices[0].message.content, golden.continuation.slice(0, cut));
    assert.equal(r.choices[0].finish_reason, 'stop');
  });

  test('missing model is an OpenAI-style 404', onChat, async () => {
    await assert.rejects(openai.chat.completions.create({ ...request, model: 'nope' }), (e) => {
      assert.ok(e instanceof OpenAI.NotFoundError, String(e));
      assert.equal(e.status, 404);
      assert.match(e.message, /nope/);
      return true;
    });
  });

  test('empty messages is a 400', onChat, async () => {
    await assert.rejects(openai.chat.completions.create({ ...request, messages: [] }), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, String(e));
      return true;
    });
  });

  test('ids are distinct across 200 requests', onChat, async () => {
    const ids = new Set();
    for (let i = 0; i < 200; i += 4) {
      const batch = await Promise.all([0, 1, 2, 3].map(() => openai.chat.completions.create({
        ...request, max_tokens: 1,
      })));
      for (const r of batch) ids.add(r.id);
    }
    assert.equal(ids.size, 200, `only ${ids.size} distinct ids in 200 responses`);
  });
});

describe('openai client: completions', () => {
  const request = { model: 'stories', prompt: golden.prompt, temperature: 0,
    max_tokens: kMaxTokens };

  test('non-streaming returns text and usage', onCompletions, async () => {
    const r = await openai.completions.create(request);
    assert.equal(r.object, 'text_completion');
    assert.match(r.id, /^cmpl-/);
    assert.equal(r.choices.length, 1);
    checkGolden(r.choices[0].text);
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage.completion_tokens, kMaxTokens);
    assert.equal(r.usage.prompt_tokens, 5);
  });

  test('streaming chunks concatenate to the same text', onCompletions, async () => {
    const chunks = await collect(await openai.completions.create({ ...request, stream: true }));
    const text = chunks.map((c) => c.choices[0]?.text ?? '').join('');
    checkGolden(text);
    const whole = await openai.completions.create(request);
    assert.equal(text, whole.choices[0].text);
    assert.equal(chunks.filter((c) => c.choices[0]?.finish_reason).at(-1).choices[0]
      .finish_reason, 'length');
  });
});

describe('openai client: embeddings', () => {
  test('default request (base64 on the wire) decodes to unit vectors', onEmbeddings, async () => {
    const r = await openai.embeddings.create({ model: 'bert', input: ['Once upon a time',
      'Lily'] });
    assert.equal(r.object, 'list');
    assert.equal(r.data.length, 2);
    r.data.forEach((d, i) => {
      assert.equal(d.object, 'embedding');
      assert.equal(d.index, i);
      assert.equal(d.embedding.length, 64);
      const norm = Math.sqrt(d.embedding.reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
    });
    assert.ok(r.usage.prompt_tokens > 0);
  });

  test('float encoding equals the decoded base64 one', onEmbeddings, async () => {
    const a = await openai.embeddings.create({ model: 'bert', input: 'Lily' });
    const b = await openai.embeddings.create({ model: 'bert', input: 'Lily',
      encoding_format: 'float' });
    assert.equal(b.data[0].embedding.length, 64);
    b.data[0].embedding.forEach((x, i) =>
      assert.ok(Math.abs(x - a.data[0].embedding[i]) < 1e-6, `dim ${i}`));
  });
});

describe('logprobs', () => {
  test('chat: logprobs.content per token with top_logprobs, streamed and not', onChat, async () => {
    const body = {
      model: 'teller', messages: [{ role: 'user', content: 'time' }], temperature: 0,
      max_tokens: 8, logprobs: true, top_logprobs: 2,
    };
    const r = await openai.chat.completions.create(body);
    const content = r.choices[0].logprobs.content;
    assert.equal(content.length, r.usage.completion_tokens);
    assert.equal(content.map((e) => e.token).join(''), r.choices[0].message.content);
    for (const e of content) {
      assert.ok(e.logprob <= 0);
      assert.ok(Array.isArray(e.bytes));
      assert.equal(e.top_logprobs.length, 2);
      assert.ok(e.top_logprobs[0].logprob >= e.top_logprobs[1].logprob);
      // Greedy: the chosen token is the most likely one.
      assert.equal(e.token, e.top_logprobs[0].token);
      assert.ok(Math.abs(e.logprob - e.top_logprobs[0].logprob) < 1e-6);
    }
    const stream = await openai.chat.completions.create({ ...body, stream: true });
    const streamed = [];
    for await (const c of stream) streamed.push(...(c.choices[0]?.logprobs?.content ?? []));
    assert.deepEqual(streamed.map((e) => e.token), content.map((e) => e.token));
    const plain = await openai.chat.completions.create({ ...body, logprobs: false });
    assert.equal(plain.choices[0].logprobs, null);
  });
  test('completions: the legacy tokens / token_logprobs / top_logprobs shape', onCompletions, async () => {
    const r = await openai.completions.create({
      model: 'stories', prompt: 'Once upon a time', temperature: 0, max_tokens: 6, logprobs: 3,
    });
    const lp = r.choices[0].logprobs;
    assert.equal(lp.tokens.length, 6);
    assert.equal(lp.tokens.join(''), r.choices[0].text);
    assert.equal(lp.token_logprobs.length, 6);
    assert.equal(lp.text_offset[0], 0);
    for (let i = 0; i < 6; i++) {
      assert.ok(lp.token_logprobs[i] <= 0);
      assert.equal(Object.keys(lp.top_logprobs[i]).length <= 3, true);
      assert.ok(Object.keys(lp.top_logprobs[i]).length >= 1);
    }
  });
});
