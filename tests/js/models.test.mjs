// Model management through the official `ollama` npm client: version, list, create
// (streaming and not), show, copy, delete, ps, and the errors clients rely on.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import { Server, collect, storiesGguf } from './harness.mjs';

const kTemplate = '{{ if .System }}{{ .System }}\n{{ end }}{{ .Prompt }}';
const kSystem = 'You tell short stories.';
const kParameters = { temperature: 0, num_ctx: 256, stop: ['The end', '<unk>'] };

// Rejection check for the client's ResponseError: HTTP status and exact message.
async function rejectsWith(promise, status, message) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, 'ResponseError', `unexpected error: ${err.stack}`);
    assert.equal(err.status_code, status, `status for "${err.error}"`);
    if (message instanceof RegExp) assert.match(err.error, message);
    else if (message !== undefined) assert.equal(err.error, message);
    return true;
  });
}

describe('ollama client: model management', () => {
  let server;
  let ollama;
  let digest;

  before(async () => {
    server = await Server.start();
    ollama = new Ollama({ host: server.host });
    digest = await server.uploadBlob(storiesGguf);
  });
  after(async () => server?.stop());

  test('version() returns a semantic version', async () => {
    const v = await ollama.version();
    assert.match(v.version, /^\d+\.\d+\.\d+/);
  });

  test('list() on an empty store returns no models', async () => {
    const r = await ollama.list();
    assert.deepEqual(r.models, []);
  });

  test('ps() with nothing loaded returns no models', async () => {
    const r = await ollama.ps();
    assert.deepEqual(r.models, []);
  });

  test('blob upload is idempotent and HEAD finds it', async () => {
    assert.equal(await server.uploadBlob(storiesGguf), digest);
    assert.equal((await server.request('HEAD', `/api/blobs/${digest}`)).status, 200);
    const missing = 'sha256:' + '0'.repeat(64);
    assert.equal((await server.request('HEAD', `/api/blobs/${missing}`)).status, 404);
  });

  test('create() streams progress ending in success', async () => {
    const stream = await ollama.create({
      model: 'stories',
      files: { 'stories.gguf': digest },
      template: kTemplate,
      system: kSystem,
      parameters: kParameters,
      stream: true,
    });
    const msgs = await collect(stream);
    assert.ok(msgs.length >= 2, JSON.stringify(msgs));
    for (const m of msgs) assert.equal(typeof m.status, 'string', JSON.stringify(m));
    assert.equal(msgs.at(-1).status, 'success');
    const statuses = msgs.map((m) => m.status);
    assert.ok(statuses.includes('parsing GGUF'), statuses.join(' | '));
    assert.ok(statuses.includes('writing manifest'), statuses.join(' | '));
    assert.ok(
      statuses.some((s) => /^(creating new|using existing) layer sha256:[0-9a-f]{64}$/.test(s)),
      statuses.join(' | '),
    );
  });

  test('create() with stream:false returns only the final status', async () => {
    const r = await ollama.create({
      model: 'plain:v1',
      files: { 'stories.gguf': digest },
      stream: false,
    });
    assert.deepEqual(r, { status: 'success' });
  });

  test('create() from an existing model overrides its system prompt', async () => {
    const r = await ollama.create({ model: 'derived', from: 'stories', system: 'Be brief.' });
    assert.equal(r.status, 'success');
    const s = await ollama.show({ model: 'derived' });
    assert.equal(s.system, 'Be brief.');
    assert.equal(s.template, kTemplate);
    assert.equal(s.details.family, 'llama');
  });

  test('create() with quantize reports progress and stores Q8_0', async () => {
    const msgs = await collect(await ollama.create({
      model: 'quant', from: 'plain:v1', quantize: 'q8_0', stream: true,
    }));
    const q = msgs.filter((m) => m.status === 'quantizing F32 model to Q8_0');
    assert.ok(q.length >= 1, msgs.map((m) => m.status).join(' | '));
    const withTotals = q.filter((m) => m.total > 0);
    assert.ok(withTotals.length >= 1);
    assert.equal(withTotals.at(-1).completed, withTotals.at(-1).total);
    assert.equal(msgs.at(-1).status, 'success');
    const s = await ollama.show({ model: 'quant' });
    assert.equal(s.details.quantization_level, 'Q8_0');
    await ollama.delete({ model: 'quant' });
  });

  test('create() keeps license and messages', async () => {
    const messages = [{ role: 'user', content: 'Tell me a story' },
      { role: 'assistant', content: 'Once upon a time' }];
    await ollama.create({ model: 'lic', from: 'plain:v1', license: ['MIT', 'Other terms'],
      messages });
    const s = await ollama.show({ model: 'lic' });
    assert.equal(s.license, 'MIT\nOther terms');
    assert.deepEqual(s.messages, messages);
    assert.match(s.modelfile, /^LICENSE /m);
    assert.match(s.modelfile, /^MESSAGE assistant /m);
    await ollama.delete({ model: 'lic' });
  });

  test('list() describes the created models', async () => {
    const { models } = await ollama.list();
    const names = models.map((m) => m.name).sort();
    assert.deepEqual(names, ['derived:latest', 'plain:v1', 'stories:latest']);
    const m = models.find((x) => x.name === 'stories:latest');
    assert.equal(m.model, 'stories:latest');
    assert.match(m.digest, /^[0-9a-f]{64}$/);
    assert.ok(m.size >= statSync(storiesGguf).size, `size ${m.size}`);
    assert.ok(!Number.isNaN(Date.parse(m.modified_at)), `modified_at ${m.modified_at}`);
    assert.equal(m.details.format, 'gguf');
    assert.equal(m.details.family, 'llama');
    assert.deepEqual(m.details.families, ['llama']);
    // The file has no general.file_type key, which upstream reports as "unknown".
    assert.equal(m.details.quantization_level, 'unknown');
    assert.equal(typeof m.details.parameter_size, 'string');
    assert.ok(m.details.parameter_size.length > 0);
    // Most recently modified first.
    const times = models.map((x) => Date.parse(x.modified_at));
    for (let i = 1; i < times.length; i++) assert.ok(times[i - 1] >= times[i], String(times));
  });

  test('show() returns details, model_info, template, system, parameters, modelfile', async () => {
    const s = await ollama.show({ model: 'stories' });
    assert.equal(s.details.format, 'gguf');
    assert.equal(s.details.family, 'llama');
    assert.equal(s.details.quantization_level, 'unknown');
    assert.equal(s.model_info['general.architecture'], 'llama');
    assert.equal(s.model_info['llama.embedding_length'], 64);
    assert.equal(s.model_info['llama.block_count'], 5);
    assert.equal(s.model_info['llama.feed_forward_length'], 172);
    assert.equal(s.model_info['llama.attention.head_count'], 8);
    assert.equal(s.model_info['llama.attention.head_count_kv'], 4);
    // Recomputed from tensor shapes: about 260K parameters (plus the tied output copy).
    const pc = s.model_info['general.parameter_count'];
    assert.ok(pc > 200000 && pc < 400000, `general.parameter_count ${pc}`);
    assert.ok(!('general.name' in s.model_info));
    // Long arrays (the 512-entry vocabulary) are elided unless verbose.
    assert.deepEqual(s.model_info['tokenizer.ggml.tokens'], []);
    assert.equal(s.template, kTemplate);
    assert.equal(s.system, kSystem);
    const lines = s.parameters.split('\n').filter((l) => l.length > 0);
    assert.ok(lines.some((l) => /^temperature +0$/.test(l)), s.parameters);
    assert.ok(lines.some((l) => /^num_ctx +256$/.test(l)), s.parameters);
    assert.ok(lines.some((l) => /^stop +"The end"$/.test(l)), s.parameters);
    assert.ok(lines.some((l) => /^stop +"<unk>"$/.test(l)), s.parameters);
    assert.equal(lines.find((l) => l.startsWith('temperature')).indexOf('0'), 31, s.parameters);
    assert.ok(s.modelfile.startsWith('# Modelfile generated by "ollama show"'), s.modelfile);
    assert.ok(s.modelfile.includes('# FROM stories:latest'), s.modelfile);
    assert.match(s.modelfile, /^FROM \/.*sha256-[0-9a-f]{64}$/m);
    assert.ok(s.modelfile.includes('SYSTEM'), s.modelfile);
    assert.ok(s.modelfile.includes('TEMPLATE'), s.modelfile);
    assert.match(s.modelfile, /^PARAMETER temperature 0$/m);
    assert.match(s.modelfile, /^PARAMETER stop "?The end"?$/m);
    assert.ok(!Number.isNaN(Date.parse(s.modified_at)), `modified_at ${s.modified_at}`);
    assert.ok(Array.isArray(s.capabilities) && s.capabilities.includes('completion'),
      JSON.stringify(s.capabilities));
  });

  test('show() verbose keeps long arrays', async () => {
    const s = await ollama.show({ model: 'stories', verbose: true });
    assert.equal(s.model_info['tokenizer.ggml.tokens'].length, 512);
    assert.equal(s.model_info['tokenizer.ggml.tokens'][1], '<s>');
  });

  test('copy() makes a second name for the same manifest', async () => {
    assert.deepEqual(await ollama.copy({ source: 'stories', destination: 'copied:v2' }),
      { status: 'success' });
    const { models } = await ollama.list();
    const a = models.find((m) => m.name === 'stories:latest');
    const b = models.find((m) => m.name === 'copied:v2');
    assert.ok(b, JSON.stringify(models.map((m) => m.name)));
    assert.equal(b.digest, a.digest);
    assert.equal(b.size, a.size);
    const s = await ollama.show({ model: 'copied:v2' });
    assert.equal(s.system, kSystem);
  });

  test('delete() removes a model and a second delete is 404', async () => {
    assert.deepEqual(await ollama.delete({ model: 'copied:v2' }), { status: 'success' });
    const { models } = await ollama.list();
    assert.ok(!models.some((m) => m.name === 'copied:v2'));
    assert.ok(models.some((m) => m.name === 'stories:latest'));
    await rejectsWith(ollama.delete({ model: 'copied:v2' }), 404, "model 'copied:v2' not found");
    // The source model still works after its copy was deleted (shared blobs kept).
    const s = await ollama.show({ model: 'stories' });
    assert.equal(s.details.family, 'llama');
  });

  test('names are matched case-insensitively', async () => {
    const s = await ollama.show({ model: 'STORIES:Latest' });
    assert.equal(s.system, kSystem);
  });

  test('show() of a missing model rejects with 404', async () => {
    await rejectsWith(ollama.show({ model: 'nope' }), 404, "model 'nope' not found");
    await rejectsWith(ollama.show({ model: 'nope:7b' }), 404, "model 'nope:7b' not found");
  });

  test('show() without a model rejects with 400', async () => {
    await rejectsWith(ollama.show({ model: '' }), 400, 'model is required');
  });

  test('bad names reject with 400', async () => {
    await rejectsWith(ollama.show({ model: 'bad name' }), 400, 'invalid model name');
    await rejectsWith(ollama.copy({ source: 'stories', destination: 'bad name' }), 400,
      'destination "bad name" is invalid');
    await rejectsWith(ollama.delete({ model: 'bad name' }), 400, 'name "bad name" is invalid');
    await rejectsWith(
      ollama.create({ model: 'bad name', files: { 'stories.gguf': digest } }), 400,
      'invalid model name');
  });

  test('copy() of a missing source rejects with 404', async () => {
    await rejectsWith(ollama.copy({ source: 'nope', destination: 'other' }), 404,
      'model "nope" not found');
  });

  test('create() without from or files rejects with 400', async () => {
    await rejectsWith(ollama.create({ model: 'empty' }), 400,
      "neither 'from' or 'files' was specified");
  });

  test('create() from a blob that was never uploaded fails', async () => {
    const files = { 'x.gguf': 'sha256:' + 'ab'.repeat(32) };
    await assert.rejects(ollama.create({ model: 'ghost', files, stream: false }));
    await assert.rejects(async () => collect(await ollama.create({ model: 'ghost', files,
      stream: true })));
    const { models } = await ollama.list();
    assert.ok(!models.some((m) => m.name.startsWith('ghost')));
  });

  test('blob upload with the wrong digest is rejected', async () => {
    const wrong = 'sha256:' + 'cd'.repeat(32);
    const res = await server.request('POST', `/api/blobs/${wrong}`, new Uint8Array([1, 2, 3]));
    assert.equal(res.status, 400);
    const body = await res.json();
    assert.match(body.error, /^digest mismatch/);
  });
});
