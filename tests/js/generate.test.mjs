// Generation through the official `ollama` npm client: generate and chat (streaming and
// not) against the stories260K greedy golden output, ps after a load, and embed.
// Each group is skipped while the server lacks its route (probed at start-up).

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import { Server, bertGguf, collect, goldenContinuation } from './harness.mjs';

const server = await Server.start();
const ollama = new Ollama({ host: server.host });
const golden = goldenContinuation();
const kOptions = { temperature: 0, num_predict: 20 };

const noRoute = (method, path, body) =>
  server.hasRoute(method, path, body).then((ok) => (ok ? false : `${path} not routed yet`));
const skipGenerate = await noRoute('POST', '/api/generate', { model: 'probe-missing' });
const skipChat = await noRoute('POST', '/api/chat', { model: 'probe-missing', messages: [] });
const skipEmbed = await noRoute('POST', '/api/embed', { model: 'probe-missing', input: 'x' });
// Per-test options: each test is skipped until its route answers.
const onGenerate = { skip: skipGenerate };
const onChat = { skip: skipChat };
const onEmbed = { skip: skipEmbed };

// `stories`: template passes the prompt through, so generate == raw golden.
// `teller`: template supplies "Once upon a " itself; chatting "time" gives the golden text.
await server.createStories(ollama, 'stories', { template: '{{ .Prompt }}' });
await server.createStories(ollama, 'teller', {
  template: 'Once upon a {{ .Prompt }}',
  system: 'This system prompt is not used by the template.',
  parameters: { temperature: 0 },
});
await server.createFrom(ollama, 'bert', bertGguf);

after(() => server.stop());

// Durations are nanosecond integers; the final chunk carries the metrics.
function checkFinal(r, { promptTokens } = {}) {
  assert.equal(r.done, true);
  assert.equal(r.done_reason, 'length', JSON.stringify(r));
  assert.equal(r.eval_count, kOptions.num_predict);
  if (promptTokens !== undefined) assert.equal(r.prompt_eval_count, promptTokens);
  for (const k of ['total_duration', 'eval_duration', 'prompt_eval_duration']) {
    assert.ok(Number.isInteger(r[k]) && r[k] > 0, `${k} = ${r[k]}`);
  }
  assert.ok(r.total_duration >= r.eval_duration);
  assert.ok(!Number.isNaN(Date.parse(r.created_at)), r.created_at);
}

function checkGolden(text) {
  assert.ok(text.length > 10, JSON.stringify(text));
  assert.ok(golden.continuation.startsWith(text),
    `not a prefix of the golden continuation:\n  got:    ${JSON.stringify(text)}\n  golden: ` +
    JSON.stringify(golden.continuation));
}

describe('ollama client: generate', () => {
  test('raw, stream:false returns the golden greedy continuation', onGenerate, async () => {
    const r = await ollama.generate({
      model: 'stories', prompt: golden.prompt, raw: true, stream: false, options: kOptions,
    });
    assert.equal(r.model, 'stories');
    checkGolden(r.response);
    checkFinal(r, { promptTokens: 5 });
    assert.equal(r.context, undefined, 'raw mode returns no context');
  });

  test('raw, streaming chunks concatenate to the same text', onGenerate, async () => {
    const chunks = await collect(await ollama.generate({
      model: 'stories', prompt: golden.prompt, raw: true, stream: true, options: kOptions,
    }));
    assert.ok(chunks.length >= 2, `only ${chunks.length} chunks`);
    for (const c of chunks.slice(0, -1)) {
      assert.equal(c.done, false);
      assert.equal(typeof c.response, 'string');
      assert.equal(c.eval_count, undefined, 'metrics only on the final chunk');
      assert.equal(c.done_reason, undefined);
    }
    const last = chunks.at(-1);
    checkFinal(last, { promptTokens: 5 });
    checkGolden(chunks.map((c) => c.response).join(''));
  });

  test('templated prompt gives the same text and returns context', onGenerate, async () => {
    const r = await ollama.generate({
      model: 'stories', prompt: golden.prompt, stream: false, options: kOptions,
    });
    checkGolden(r.response);
    checkFinal(r);
    assert.ok(Array.isArray(r.context) && r.context.length >= 5 + kOptions.num_predict,
      JSON.stringify(r.context));
  });

  test('empty prompt loads the model', onGenerate, async () => {
    const r = await ollama.generate({ model: 'teller', prompt: '', stream: false });
    assert.equal(r.done, true);
    assert.equal(r.done_reason, 'load');
    assert.equal(r.response, '');
  });

  test('ps() lists a model after generate', onGenerate, async () => {
    await ollama.generate({ model: 'stories', prompt: 'Hi', raw: true, stream: false,
      options: { num_predict: 1 } });
    const { models } = await ollama.ps();
    const m = models.find((x) => x.name === 'stories:latest');
    assert.ok(m, JSON.stringify(models));
    assert.equal(m.model, 'stories:latest');
    assert.ok(m.size > 0);
    assert.match(m.digest, /^[0-9a-f]{64}$/);
    assert.equal(m.details.family, 'llama');
    assert.ok(Date.parse(m.expires_at) > Date.now(), m.expires_at);
    assert.ok(m.context_length > 0, JSON.stringify(m));
  });

  test('a stop sequence ends the text before it with done_reason stop', onGenerate, async () => {
    const cut = golden.continuation.indexOf(' girl');
    assert.ok(cut > 0);
    const r = await ollama.generate({
      model: 'stories', prompt: golden.prompt, raw: true, stream: false,
      options: { ...kOptions, stop: [' girl'] },
    });
    assert.equal(r.response, golden.continuation.slice(0, cut));
    assert.equal(r.done_reason, 'stop');
  });

  test('parallel requests each return the golden text', onGenerate, async () => {
    const rs = await Promise.all([0, 1, 2, 3].map(() => ollama.generate({
      model: 'stories', prompt: golden.prompt, raw: true, stream: false, options: kOptions,
    })));
    for (const r of rs) checkGolden(r.response);
    assert.equal(new Set(rs.map((r) => r.response)).size, 1);
  });

  test('abort() mid-stream leaves the server usable', onGenerate, async () => {
    const stream = await ollama.generate({
      model: 'stories', prompt: golden.prompt, raw: true, stream: true,
      options: { temperature: 0, num_predict: 1000 },
    });
    // A tiny model may finish before the abort lands; either way the server must carry on.
    let seen = 0;
    try {
      for await (const c of stream) {
        if (++seen === 2) stream.abort();
        assert.ok(seen <= 1001);
      }
    } catch (e) {
      assert.equal(e.name, 'AbortError', String(e));
    }
    const r = await ollama.generate({
      model: 'stories', prompt: golden.prompt, raw: true, stream: false, options: kOptions,
    });
    checkGolden(r.response);
  });

  test('an option of the wrong type is rejected', onGenerate, async () => {
    await assert.rejects(ollama.generate({
      model: 'stories', prompt: 'x', stream: false, options: { num_predict: 'many' },
    }), (e) => {
      assert.equal(e.error, 'option "num_predict" must be of type integer');
      return true;
    });
  });

  test('keep_alive 0 unloads the model after the request', onGenerate, async () => {
    await ollama.generate({ model: 'teller', prompt: 'time', stream: false, keep_alive: 0,
      options: { num_predict: 2 } });
    let names = [];
    for (let i = 0; i < 100; i++) {
      names = (await ollama.ps()).models.map((m) => m.name);
      if (!names.includes('teller:latest')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(!names.includes('teller:latest'), JSON.stringify(names));
  });

  test('generate with a missing model rejects with 404', onGenerate, async () => {
    await assert.rejects(ollama.generate({ model: 'nope', prompt: 'x', stream: false }), (e) => {
      assert.equal(e.status_code, 404);
      assert.equal(e.error, "model 'nope' not found");
      return true;
    });
  });
});

describe('ollama client: chat', () => {
  test('stream:false goes through the template', onChat, async () => {
    const r = await ollama.chat({
      model: 'teller', messages: [{ role: 'user', content: 'time' }], stream: false,
      options: kOptions,
    });
    assert.equal(r.model, 'teller');
    assert.equal(r.message.role, 'assistant');
    checkGolden(r.message.content);
    checkFinal(r, { promptTokens: 5 });
  });

  test('streaming deltas concatenate to the golden text', onChat, async () => {
    const chunks = await collect(await ollama.chat({
      model: 'teller', messages: [{ role: 'user', content: 'time' }], stream: true,
      options: kOptions,
    }));
    assert.ok(chunks.length >= 2);
    for (const c of chunks.slice(0, -1)) {
      assert.equal(c.done, false);
      assert.equal(c.message.role, 'assistant');
      assert.equal(c.eval_count, undefined);
    }
    checkFinal(chunks.at(-1), { promptTokens: 5 });
    checkGolden(chunks.map((c) => c.message.content).join(''));
  });

  test('model parameters apply (temperature 0 from the Modelfile)', onChat, async () => {
    const a = await ollama.chat({ model: 'teller', messages: [{ role: 'user', content: 'time' }],
      stream: false, options: { num_predict: 12 } });
    checkGolden(a.message.content);
  });

  test('empty messages load the model', onChat, async () => {
    const r = await ollama.chat({ model: 'teller', messages: [], stream: false });
    assert.equal(r.done, true);
    assert.equal(r.done_reason, 'load');
  });

  test('chat with a missing model rejects with 404', onChat, async () => {
    await assert.rejects(ollama.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
      (e) => e.status_code === 404 && e.error === "model 'nope' not found");
  });
});

describe('ollama client: embed', () => {
  test('embed() returns one L2-normalised vector per input', onEmbed, async () => {
    const r = await ollama.embed({ model: 'bert', input: ['Once upon a time', 'Lily'] });
    assert.equal(r.model, 'bert');
    assert.equal(r.embeddings.length, 2);
    for (const e of r.embeddings) {
      assert.equal(e.length, 64);
      const norm = Math.sqrt(e.reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
    }
    assert.notDeepEqual(r.embeddings[0], r.embeddings[1]);
    assert.ok(r.prompt_eval_count >= 6, `prompt_eval_count ${r.prompt_eval_count}`);
  });

  test('embed() is deterministic and dimensions truncates', onEmbed, async () => {
    const a = await ollama.embed({ model: 'bert', input: 'Once upon a time' });
    const b = await ollama.embed({ model: 'bert', input: 'Once upon a time', dimensions: 16 });
    assert.equal(b.embeddings[0].length, 16);
    const norm = Math.sqrt(b.embeddings[0].reduce((s, x) => s + x * x, 0));
    assert.ok(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
    const again = await ollama.embed({ model: 'bert', input: 'Once upon a time' });
    assert.deepEqual(again.embeddings, a.embeddings);
  });
});
