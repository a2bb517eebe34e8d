// OLLAMA_API_KEY through the official clients: the ollama client with an Authorization
// header, the openai client's apiKey (Bearer), the Anthropic SDK's apiKey (x-api-key); a wrong
// key is each client's authentication error.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { Server } from './harness.mjs';

const key = 'sk-local-test-key';
const server = await Server.start({ OLLAMA_API_KEY: `${key},another` });
const ollama = new Ollama({ host: server.host, headers: { Authorization: `Bearer ${key}` } });
server.headers = { Authorization: `Bearer ${key}` };
await server.createStories(ollama, 'teller', { template: 'Once upon a {{ .Prompt }}' });

after(() => server.stop());

describe('OLLAMA_API_KEY', () => {
  test('the ollama client with the key works, without it gets 401', async () => {
    const list = await ollama.list();
    assert.deepEqual(list.models.map((m) => m.name), ['teller:latest']);
    const anonymous = new Ollama({ host: server.host });
    await assert.rejects(anonymous.list(), (e) => e.status_code === 401 && /API key/.test(e.error));
  });

  test('openai and anthropic clients authenticate with their own headers', async () => {
    const openai = new OpenAI({ baseURL: `${server.host}/v1`, apiKey: 'another', maxRetries: 0 });
    const models = await openai.models.list();
    assert.equal(models.data[0].id, 'teller:latest');
    const wrong = new OpenAI({ baseURL: `${server.host}/v1`, apiKey: 'nope', maxRetries: 0 });
    await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError);

    const claude = new Anthropic({ baseURL: server.host, apiKey: key, maxRetries: 0 });
    const msg = await claude.messages.create({
      model: 'teller', max_tokens: 5, temperature: 0, messages: [{ role: 'user', content: 'time' }],
    });
    assert.equal(msg.content[0].type, 'text');
    const bad = new Anthropic({ baseURL: server.host, apiKey: 'nope', maxRetries: 0 });
    await assert.rejects(
      bad.messages.create({ model: 'teller', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
      (e) => e instanceof Anthropic.AuthenticationError && e.error.error.type === 'authentication_error');
  });
});
