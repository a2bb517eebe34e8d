// Structured outputs through the official clients: the `ollama` client's `format` (a JSON
// schema, as apps pass zod-to-json-schema output) on generate and chat, streaming and not, and
// the `openai` client's response_format json_schema / json_object, including
// chat.completions.parse(), which parses the answer itself. stories260K knows nothing of JSON:
// only the constraint makes its output valid.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { Server, collect } from './harness.mjs';

const server = await Server.start();
const ollama = new Ollama({ host: server.host });
const openai = new OpenAI({ baseURL: `${server.host}/v1`, apiKey: 'ollama', maxRetries: 0 });

await server.createStories(ollama, 'stories', { template: '{{ .Prompt }}' });
await server.createStories(ollama, 'chatty', {
  template: '{{ range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}assistant:',
});
after(() => server.stop());

const schema = {
  type: 'object',
  properties: {
    title: { type: 'string', minLength: 1, maxLength: 10 },
    year: { type: 'integer', minimum: 1900, maximum: 2030 },
    genre: { type: 'string', enum: ['comedy', 'drama'] },
    seen: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string', maxLength: 5 }, maxItems: 2 },
  },
  required: ['title', 'year', 'genre', 'seen', 'tags'],
  additionalProperties: false,
};

function check(text) {
  const v = JSON.parse(text);
  assert.deepEqual(Object.keys(v), ['title', 'year', 'genre', 'seen', 'tags']);
  assert.ok(v.title.length >= 1 && v.title.length <= 10, text);
  assert.ok(Number.isInteger(v.year) && v.year >= 1900 && v.year <= 2030, text);
  assert.ok(['comedy', 'drama'].includes(v.genre), text);
  assert.equal(typeof v.seen, 'boolean');
  assert.ok(Array.isArray(v.tags) && v.tags.length <= 2, text);
  for (const t of v.tags) assert.ok(typeof t === 'string' && t.length <= 5, text);
  return v;
}

describe('ollama client format', () => {
  for (const temperature of [0, 0.8]) {
    test(`generate with a schema at temperature ${temperature}`, async () => {
      const r = await ollama.generate({
        model: 'stories', prompt: 'Once upon a time', format: schema,
        options: { temperature, seed: 3, num_predict: 400 },
      });
      check(r.response);
      assert.equal(r.done_reason, 'stop');
    });
    test(`chat streamed with a schema at temperature ${temperature}`, async () => {
      const parts = await collect(await ollama.chat({
        model: 'chatty', messages: [{ role: 'user', content: 'A film?' }], format: schema,
        stream: true, options: { temperature, seed: 5, num_predict: 400 },
      }));
      check(parts.map((p) => p.message.content).join(''));
      assert.equal(parts.at(-1).done_reason, 'stop');
    });
  }
  test('format "json" gives an object', async () => {
    const r = await ollama.generate({
      model: 'stories', prompt: 'Once', format: 'json',
      options: { temperature: 0, num_predict: 30 },
    });
    assert.ok(r.response.trimStart().startsWith('{'), r.response);
  });
  test('a schema it cannot follow is a clear error', async () => {
    await assert.rejects(
      ollama.generate({ model: 'stories', prompt: 'x', format: { type: 'integer', minimum: 9, maximum: 1 } }),
      (e) => e.status_code === 400 && /format/.test(e.message));
  });
});

describe('openai client response_format', () => {
  const messages = [{ role: 'user', content: 'A film?' }];
  const responseFormat = {
    type: 'json_schema', json_schema: { name: 'film', schema, strict: true },
  };
  for (const temperature of [0, 0.8]) {
    test(`chat.completions.create at temperature ${temperature}`, async () => {
      const r = await openai.chat.completions.create({
        model: 'chatty', messages, response_format: responseFormat, temperature, seed: 9,
        max_tokens: 400,
      });
      check(r.choices[0].message.content);
      assert.equal(r.choices[0].finish_reason, 'stop');
    });
    test(`streamed at temperature ${temperature}`, async () => {
      const stream = await openai.chat.completions.create({
        model: 'chatty', messages, response_format: responseFormat, temperature, seed: 9,
        max_tokens: 400, stream: true,
      });
      let text = '';
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
      check(text);
    });
  }
  test('chat.completions.parse() parses the answer', async () => {
    const r = await openai.chat.completions.parse({
      model: 'chatty', messages, response_format: responseFormat, temperature: 0,
      max_tokens: 400,
    });
    const parsed = r.choices[0].message.parsed;
    assert.ok(parsed && typeof parsed === 'object');
    assert.deepEqual(parsed, check(r.choices[0].message.content));
  });
  test('completions with a schema', async () => {
    const r = await openai.completions.create({
      model: 'stories', prompt: 'Once upon a time', response_format: responseFormat,
      temperature: 0, max_tokens: 400,
    });
    check(r.choices[0].text);
  });
  test('json_object', async () => {
    const r = await openai.chat.completions.create({
      model: 'chatty', messages, response_format: { type: 'json_object' }, temperature: 0,
      max_tokens: 30,
    });
    assert.ok(r.choices[0].message.content.trimStart().startsWith('{'));
  });
  test('a json_schema without a schema is a 400', async () => {
    await assert.rejects(
      openai.chat.completions.create({
        model: 'chatty', messages, response_format: { type: 'json_schema', json_schema: { name: 'x' } },
      }),
      (e) => e.status === 400);
  });
});
