// Anthropic's Messages API (/v1/messages, /v1/messages/count_tokens) through the official
// `@anthropic-ai/sdk` and the AI SDK's Anthropic provider: text against the stories260K golden
// output (plain and streamed), system prompts, stop sequences, thinking blocks, forced tool
// use with schema-valid input, tool results in the history, token counting, and errors in
// Anthropic's envelope.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { createAnthropic } from '@ai-sdk/anthropic';
import { generateText, streamText } from 'ai';
import { Ollama } from 'ollama';
import { Server, createCompatModels, goldenContinuation } from './harness.mjs';

const server = await Server.start();
const ollama = new Ollama({ host: server.host });
const client = new Anthropic({ baseURL: server.host, apiKey: 'ollama', maxRetries: 0 });
const golden = goldenContinuation();

await createCompatModels(server, ollama);

after(() => server.stop());

const tools = [
  {
    name: 'get_weather',
    description: 'Weather for a city',
    input_schema: {
      type: 'object',
      required: ['city', 'days'],
      properties: {
        city: { type: 'string', minLength: 1, maxLength: 12 },
        days: { type: 'integer', minimum: 1, maximum: 7 },
      },
    },
  },
  {
    name: 'add',
    input_schema: {
      type: 'object',
      required: ['a', 'b'],
      properties: { a: { type: 'integer' }, b: { type: 'integer' } },
    },
  },
];

function checkWeatherInput(input) {
  assert.equal(typeof input, 'object');
  assert.deepEqual(Object.keys(input).sort(), ['city', 'days']);
  assert.equal(typeof input.city, 'string');
  assert.ok(input.city.length >= 1 && input.city.length <= 12, input.city);
  assert.ok(Number.isInteger(input.days) && input.days >= 1 && input.days <= 7, input.days);
}

function checkGolden(text) {
  assert.ok(text.length > 10, JSON.stringify(text));
  assert.ok(golden.continuation.startsWith(text),
    `not a prefix of the golden continuation:\n  got:    ${JSON.stringify(text)}\n  golden: ` +
    JSON.stringify(golden.continuation));
}

const time = [{ role: 'user', content: 'time' }];

describe('anthropic sdk: messages', () => {
  test('messages.create() returns the golden text as one text block', async () => {
    const msg = await client.messages.create({
      model: 'teller', max_tokens: 20, temperature: 0, messages: time,
    });
    assert.match(msg.id, /^msg_[0-9a-f]{24}$/);
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.model, 'teller');
    assert.equal(msg.content.length, 1);
    assert.equal(msg.content[0].type, 'text');
    checkGolden(msg.content[0].text);
    assert.equal(msg.stop_reason, 'max_tokens');
    assert.equal(msg.stop_sequence, null);
    assert.equal(msg.usage.output_tokens, 20);
    assert.ok(msg.usage.input_tokens > 0);
  });

  test('messages.stream() streams the same text and the final message', async () => {
    const plain = await client.messages.create({
      model: 'teller', max_tokens: 20, temperature: 0, messages: time,
    });
    const stream = client.messages.stream({
      model: 'teller', max_tokens: 20, temperature: 0, messages: time,
    });
    const kinds = [];
    let text = '';
    stream.on('streamEvent', (e) => kinds.push(e.type));
    stream.on('text', (t) => { text += t; });
    const final = await stream.finalMessage();
    assert.equal(text, plain.content[0].text);
    assert.deepEqual(final.content, plain.content);
    assert.equal(final.stop_reason, 'max_tokens');
    assert.equal(final.usage.output_tokens, 20);
    assert.equal(kinds[0], 'message_start');
    assert.equal(kinds.at(-1), 'message_stop');
    assert.equal(kinds.at(-2), 'message_delta');
    assert.ok(kinds.filter((k) => k === 'content_block_delta').length > 5, kinds.join(','));
  });

  test('a system prompt (string or text blocks) comes first', async () => {
    for (const system of ['Once upon a', [{ type: 'text', text: 'Once upon a' }]]) {
      const msg = await client.messages.create({
        model: 'sys', max_tokens: 20, temperature: 0, system, messages: time,
      });
      checkGolden(msg.content[0].text);
    }
  });

  test('a stop sequence ends the text with stop_reason stop_sequence', async () => {
    const msg = await client.messages.create({
      model: 'teller', max_tokens: 40, temperature: 0, messages: time,
      stop_sequences: ['nothing like this', 'girl'],
    });
    assert.equal(msg.content[0].text, ', there was a little ');
    assert.equal(msg.stop_reason, 'stop_sequence');
    assert.equal(msg.stop_sequence, 'girl');
  });

  test('thinking comes back as a thinking block, streamed as thinking deltas', async () => {
    const req = {
      model: 'thinker', max_tokens: 12, temperature: 0,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [{ role: 'user', content: 'Once upon a time' }],
    };
    const msg = await client.messages.create(req);
    assert.equal(msg.content[0].type, 'thinking');
    assert.ok(msg.content[0].thinking.length > 5, msg.content[0].thinking);
    let thinking = '';
    const stream = client.messages.stream(req);
    stream.on('thinking', (t) => { thinking += t; });
    const final = await stream.finalMessage();
    assert.equal(thinking, msg.content[0].thinking);
    assert.equal(final.content[0].thinking, thinking);
    // Turned off, the same model answers in text.
    const off = await client.messages.create({ ...req, thinking: { type: 'disabled' } });
    assert.equal(off.content[0].type, 'text');
    // Asked of a model that cannot think, thinking is dropped rather than refused.
    const plain = await client.messages.create({ ...req, model: 'teller', messages: time });
    checkGolden(plain.content[0].text);
  });

  test('tool_choice forces a tool_use block whose input fits the schema', async () => {
    for (const stream of [false, true]) {
      const req = {
        model: 'tooler', max_tokens: 300, temperature: 0.8, tools,
        tool_choice: { type: 'tool', name: 'get_weather' },
        messages: [{ role: 'user', content: 'Once upon a time' }],
      };
      const msg = stream ? await client.messages.stream(req).finalMessage()
        : await client.messages.create(req);
      const uses = msg.content.filter((b) => b.type === 'tool_use');
      assert.equal(uses.length, 1, JSON.stringify(msg.content));
      assert.equal(uses[0].name, 'get_weather');
      assert.match(uses[0].id, /.+/);
      checkWeatherInput(uses[0].input);
      assert.equal(msg.stop_reason, 'tool_use');
    }
    // "any" picks one of the tools.
    const any = await client.messages.create({
      model: 'tooler', max_tokens: 300, temperature: 0, tools, tool_choice: { type: 'any' },
      messages: [{ role: 'user', content: 'Once upon a time' }],
    });
    const use = any.content.find((b) => b.type === 'tool_use');
    assert.ok(['get_weather', 'add'].includes(use.name), JSON.stringify(any.content));
  });

  test('tool_use and tool_result blocks in the history reach the prompt', async () => {
    const history = (result) => [
      { role: 'user', content: 'Once upon a time' },
      { role: 'assistant', content: [
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris', days: 1 } },
      ] },
      { role: 'user', content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: result },
        { type: 'text', text: 'and then' },
      ] },
    ];
    const count = async (result) => (await client.messages.countTokens({
      model: 'tooler', tools, messages: history(result),
    })).input_tokens;
    const short = await count('sunny');
    const long = await count([{ type: 'text', text: 'sunny with a little rain in the evening' }]);
    assert.ok(long > short + 5, `${long} vs ${short}`);
    const msg = await client.messages.create({
      model: 'tooler', max_tokens: 5, temperature: 0, tools, messages: history('sunny'),
    });
    assert.equal(msg.usage.input_tokens, short);
  });

  test('countTokens() counts what create() reads', async () => {
    const counted = await client.messages.countTokens({ model: 'teller', messages: time });
    const msg = await client.messages.create({
      model: 'teller', max_tokens: 2, temperature: 0, messages: time,
    });
    assert.equal(counted.input_tokens, msg.usage.input_tokens);
    const more = await client.messages.countTokens({
      model: 'sys', system: 'A long system prompt about a girl named Lily', messages: time,
    });
    assert.ok(more.input_tokens > counted.input_tokens + 5, JSON.stringify(more));
  });

  test('errors come in Anthropic\'s envelope with their status', async () => {
    await assert.rejects(
      client.messages.create({ model: 'missing', max_tokens: 5, messages: time }),
      (e) => e instanceof Anthropic.NotFoundError && e.error.type === 'error' &&
        e.error.error.type === 'not_found_error' && /missing/.test(e.error.error.message));
    await assert.rejects(
      client.messages.create({ model: 'teller', messages: time }),
      (e) => e instanceof Anthropic.BadRequestError &&
        e.error.error.type === 'invalid_request_error' &&
        e.error.error.message === 'max_tokens is required and must be positive');
    await assert.rejects(
      client.messages.create({ model: 'teller', max_tokens: 5, messages: [] }),
      (e) => e instanceof Anthropic.BadRequestError);
    // An image for a model without vision: parsed, then refused for the model.
    await assert.rejects(
      client.messages.create({
        model: 'teller', max_tokens: 5, messages: [{ role: 'user', content: [
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
          { type: 'text', text: 'time' },
        ] }],
      }),
      (e) => e instanceof Anthropic.BadRequestError && /vision/.test(e.error.error.message));
    await assert.rejects(
      client.messages.create({
        model: 'teller', max_tokens: 5, messages: [{ role: 'user', content: [
          { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
        ] }],
      }),
      (e) => e instanceof Anthropic.BadRequestError && /URL/.test(e.error.error.message));
    // The server is still serving.
    const msg = await client.messages.create({
      model: 'teller', max_tokens: 20, temperature: 0, messages: time,
    });
    checkGolden(msg.content[0].text);
  });
});

describe('AI SDK: @ai-sdk/anthropic', () => {
  const anthropic = createAnthropic({ baseURL: `${server.host}/v1`, apiKey: 'ollama' });

  test('generateText() and streamText() give the golden text', async () => {
    const r = await generateText({
      model: anthropic('teller'), prompt: 'time', temperature: 0, maxOutputTokens: 20,
    });
    checkGolden(r.text);
    assert.equal(r.finishReason, 'length');
    const s = streamText({
      model: anthropic('teller'), prompt: 'time', temperature: 0, maxOutputTokens: 20,
    });
    let text = '';
    for await (const part of s.textStream) text += part;
    assert.equal(text, r.text);
  });
});
