// Structured outputs the way apps ask for them through frameworks: LangChain's
// ChatOllama.withStructuredOutput(zod schema) and the AI SDK's generateObject / Output.object
// over the OpenAI-compatible provider. stories260K knows nothing of JSON: only the constraint
// makes these parse and validate (the frameworks validate the object against the schema
// themselves and throw otherwise).

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import { ChatOllama } from '@langchain/ollama';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateObject, generateText, Output, streamObject } from 'ai';
import { z } from 'zod';
import { Server } from './harness.mjs';

const server = await Server.start();
const ollama = new Ollama({ host: server.host });
await server.createStories(ollama, 'chatty', {
  template: '{{ range .Messages }}{{ .Role }}: {{ .Content }}\n{{ end }}assistant:',
});
after(() => server.stop());

const Film = z.object({
  title: z.string().min(1).max(10),
  year: z.number().int().min(1900).max(2030),
  genre: z.enum(['comedy', 'drama']),
  seen: z.boolean(),
});

function checkFilm(v) {
  assert.deepEqual(Film.parse(v), v);  // throws on anything the schema refuses
  assert.deepEqual(Object.keys(v), ['title', 'year', 'genre', 'seen']);
}

describe('LangChain', () => {
  for (const temperature of [0, 0.8]) {
    test(`ChatOllama.withStructuredOutput at temperature ${temperature}`, async () => {
      const llm = new ChatOllama({
        baseUrl: server.host, model: 'chatty', temperature, seed: 4, numPredict: 400,
      });
      const film = await llm.withStructuredOutput(Film).invoke('Name a film.');
      checkFilm(film);
    });
  }
});

describe('AI SDK', () => {
  const provider = createOpenAICompatible({
    name: 'ollama-cpp', baseURL: `${server.host}/v1`, supportsStructuredOutputs: true,
  });
  const model = provider.chatModel('chatty');
  for (const temperature of [0, 0.8]) {
    test(`generateObject at temperature ${temperature}`, async () => {
      const { object } = await generateObject({
        model, schema: Film, prompt: 'Name a film.', temperature, seed: 6, maxOutputTokens: 400,
      });
      checkFilm(object);
    });
  }
  test('generateText with Output.object', async () => {
    const { output } = await generateText({
      model, output: Output.object({ schema: Film }), prompt: 'Name a film.', temperature: 0,
      maxOutputTokens: 400,
    });
    checkFilm(output);
  });
  test('streamObject', async () => {
    const r = streamObject({
      model, schema: Film, prompt: 'Name a film.', temperature: 0.8, seed: 2,
      maxOutputTokens: 400,
    });
    let partials = 0;
    for await (const _ of r.partialObjectStream) partials++;
    checkFilm(await r.object);
    assert.ok(partials > 1, 'streamed in parts');
  });
});
