// OpenAI's Responses API (/v1/responses) through the official `openai` client and the AI
// SDK's OpenAI provider (which speaks Responses by default): text against the stories260K
// golden output (plain and streamed, events in order with sequence numbers), instructions,
// reasoning items, forced function calls with schema-valid arguments, function_call_output
// in the input, structured output through text.format, and errors.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import OpenAI from 'openai';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText } from 'ai';
import { Ollama } from 'ollama';
import { Server, createCompatModels, goldenContinuation } from './harness.mjs';

const server = await Server.start();
const ollama = new Ollama({ host: server.host });
const openai = new OpenAI({ baseURL: `${server.host}/v1`, apiKey: 'ollama', maxRetries: 0 });
const golden = goldenContinuation();

await createCompatModels(server, ollama);

after(() => server.stop());

function checkGolden(text) {
  assert.ok(text.length > 10, JSON.stringify(text));
  assert.ok(golden.continuation.startsWith(text),
    `not a prefix of the golden continuation:\n  got:    ${JSON.stringify(text)}\n  golden: ` +
    JSON.stringify(golden.continuation));
}

const weather = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: {
    type: 'object',
    required: ['city', 'days'],
    properties: {
      city: { type: 'string', minLength: 1, maxLength: 12 },
      days: { type: 'integer', minimum: 1, maximum: 7 },
    },
    additionalProperties: false,
  },
  strict: true,
};

function checkWeatherArgs(text) {
  const args = JSON.parse(text);
  assert.deepEqual(Object.keys(args).sort(), ['city', 'days']);
  assert.ok(args.city.length >= 1 && args.city.length <= 12, args.city);
  assert.ok(Number.isInteger(args.days) && args.days >= 1 && args.days <= 7, String(args.days));
}

describe('openai client: responses', () => {
  test('responses.create() returns the golden text as a message item', async () => {
    const r = await openai.responses.create({
      model: 'teller', input: 'time', temperature: 0, max_output_tokens: 20,
    });
    assert.match(r.id, /^resp_/);
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'incomplete');
    assert.deepEqual(r.incomplete_details, { reason: 'max_output_tokens' });
    assert.equal(r.output.length, 1);
    const [item] = r.output;
    assert.equal(item.type, 'message');
    assert.equal(item.role, 'assistant');
    assert.match(item.id, /^msg_/);
    assert.equal(item.content[0].type, 'output_text');
    checkGolden(r.output_text);
    assert.equal(item.content[0].text, r.output_text);
    assert.equal(r.usage.output_tokens, 20);
    assert.equal(r.usage.total_tokens, r.usage.input_tokens + 20);
    assert.equal(r.usage.output_tokens_details.reasoning_tokens, 0);
  });

  test('a stream gives the same text, its events in order with sequence numbers', async () => {
    const plain = await openai.responses.create({
      model: 'teller', input: 'time', temperature: 0, max_output_tokens: 20,
    });
    const stream = openai.responses.stream({
      model: 'teller', input: [{ role: 'user', content: [{ type: 'input_text', text: 'time' }] }],
      temperature: 0, max_output_tokens: 20,
    });
    const events = [];
    let text = '';
    stream.on('event', (e) => events.push(e));
    stream.on('response.output_text.delta', (e) => { text += e.delta; });
    const final = await stream.finalResponse();
    assert.equal(text, plain.output_text);
    assert.equal(final.output_text, plain.output_text);
    assert.deepEqual(events.map((e) => e.sequence_number), events.map((_, i) => i));
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 4), ['response.created', 'response.in_progress',
      'response.output_item.added', 'response.content_part.added']);
    assert.deepEqual(types.slice(-4), ['response.output_text.done', 'response.content_part.done',
      'response.output_item.done', 'response.incomplete']);
    assert.equal(events.at(-1).response.usage.output_tokens, 20);
  });

  test('instructions are the system prompt', async () => {
    const r = await openai.responses.create({
      model: 'sys', instructions: 'Once upon a', input: 'time', temperature: 0,
      max_output_tokens: 20,
    });
    assert.equal(r.instructions, 'Once upon a');
    checkGolden(r.output_text);
    // A developer message in the input does the same.
    const d = await openai.responses.create({
      model: 'sys', temperature: 0, max_output_tokens: 20,
      input: [{ role: 'developer', content: 'Once upon a' }, { role: 'user', content: 'time' }],
    });
    assert.equal(d.output_text, r.output_text);
  });

  test('reasoning comes back as a reasoning item with a summary', async () => {
    const req = {
      model: 'thinker', input: 'Once upon a time', temperature: 0, max_output_tokens: 12,
      reasoning: { effort: 'low' },
    };
    const r = await openai.responses.create(req);
    assert.equal(r.output[0].type, 'reasoning');
    const summary = r.output[0].summary[0].text;
    assert.ok(summary.length > 5, summary);
    assert.ok(r.usage.output_tokens_details.reasoning_tokens > 0);
    let streamed = '';
    const stream = openai.responses.stream(req);
    stream.on('response.reasoning_summary_text.delta', (e) => { streamed += e.delta; });
    const final = await stream.finalResponse();
    assert.equal(streamed, summary);
    assert.equal(final.output[0].summary[0].text, summary);
    // effort "none" turns it off.
    const off = await openai.responses.create({ ...req, reasoning: { effort: 'none' } });
    assert.equal(off.output[0].type, 'message');
  });

  test('tool_choice forces a function_call with arguments that fit the schema', async () => {
    for (const stream of [false, true]) {
      const req = {
        model: 'tooler', input: 'Once upon a time', temperature: 0.8, max_output_tokens: 300,
        tools: [weather], tool_choice: { type: 'function', name: 'get_weather' },
      };
      let argsDelta = '';
      let r;
      if (stream) {
        const s = openai.responses.stream(req);
        s.on('response.function_call_arguments.delta', (e) => { argsDelta += e.delta; });
        r = await s.finalResponse();
      } else {
        r = await openai.responses.create(req);
      }
      const calls = r.output.filter((i) => i.type === 'function_call');
      assert.equal(calls.length, 1, JSON.stringify(r.output));
      assert.equal(calls[0].name, 'get_weather');
      assert.match(calls[0].call_id, /.+/);
      checkWeatherArgs(calls[0].arguments);
      if (stream) assert.equal(argsDelta, calls[0].arguments);
      assert.deepEqual(r.tools.map((t) => t.name), ['get_weather']);
    }
  });

  test('function_call and function_call_output items continue a conversation', async () => {
    const input = (output) => [
      { role: 'user', content: 'Once upon a time' },
      { type: 'function_call', call_id: 'call_1', name: 'get_weather',
        arguments: '{"city":"Paris","days":1}' },
      { type: 'function_call_output', call_id: 'call_1', output },
    ];
    const short = await openai.responses.create({
      model: 'tooler', input: input('sunny'), tools: [weather], temperature: 0,
      max_output_tokens: 3,
    });
    const long = await openai.responses.create({
      model: 'tooler', input: input('sunny with a little rain in the evening'), tools: [weather],
      temperature: 0, max_output_tokens: 3,
    });
    assert.ok(long.usage.input_tokens > short.usage.input_tokens + 5,
      `${long.usage.input_tokens} vs ${short.usage.input_tokens}`);
  });

  test('text.format json_schema constrains the output', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string', maxLength: 10 }, age: { type: 'integer' } },
      required: ['name', 'age'],
      additionalProperties: false,
    };
    const r = await openai.responses.create({
      model: 'teller', input: 'time', temperature: 0, max_output_tokens: 60,
      text: { format: { type: 'json_schema', name: 'person', schema, strict: true } },
    });
    const v = JSON.parse(r.output_text);
    assert.deepEqual(Object.keys(v), ['name', 'age']);
    assert.ok(Number.isInteger(v.age));
    assert.equal(r.text.format.type, 'json_schema');
  });

  test('errors come in OpenAI\'s envelope', async () => {
    await assert.rejects(
      openai.responses.create({ model: 'missing', input: 'x' }),
      (e) => e instanceof OpenAI.NotFoundError && /missing/.test(e.message));
    await assert.rejects(
      openai.responses.create({ model: 'teller', input: 'x', previous_response_id: 'resp_1' }),
      (e) => e instanceof OpenAI.BadRequestError && /previous_response_id/.test(e.message));
    await assert.rejects(
      openai.responses.create({ model: 'teller', input: [{ type: 'item_reference', id: 'x' }] }),
      (e) => e instanceof OpenAI.BadRequestError);
    await assert.rejects(
      openai.responses.create({ model: 'teller', input: 'x', reasoning: { effort: 'huge' } }),
      (e) => e instanceof OpenAI.BadRequestError && /reasoning/.test(e.message));
    const r = await openai.responses.create({
      model: 'teller', input: 'time', temperature: 0, max_output_tokens: 20,
    });
    checkGolden(r.output_text);
  });
});

describe('AI SDK: @ai-sdk/openai (Responses)', () => {
  const provider = createOpenAI({ baseURL: `${server.host}/v1`, apiKey: 'ollama' });

  test('generateText() and streamText() give the golden text', async () => {
    const r = await generateText({
      model: provider.responses('teller'), prompt: 'time', temperature: 0, maxOutputTokens: 20,
    });
    checkGolden(r.text);
    const s = streamText({
      model: provider.responses('teller'), prompt: 'time', temperature: 0, maxOutputTokens: 20,
    });
    let text = '';
    for await (const part of s.textStream) text += part;
    assert.equal(text, r.text);
  });
});
