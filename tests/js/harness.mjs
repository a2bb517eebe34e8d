// Test harness: starts the real `ollama serve` on a free loopback port with a throw-away
// store and HOME, uploads test models through the HTTP API, and probes which routes exist.
//
// Environment: OLLAMA_BIN (default ../../build/ollama), OLLAMA_SHARED_DIR (default
// ../../../shared), both relative to this directory.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const ollamaBin = resolve(here, process.env.OLLAMA_BIN || '../../build/ollama');
export const sharedDir = resolve(here, process.env.OLLAMA_SHARED_DIR || '../../../shared');
export const storiesGguf = join(sharedDir, 'testdata', 'real', 'stories260K.gguf');
export const storiesExpected = join(sharedDir, 'testdata', 'real', 'stories260K.expected.json');
// A tiny BERT embedding model (64 dims): stories260K is generative and cannot embed.
export const bertGguf = join(sharedDir, 'testdata', 'models', 'tiny-bert-e64.gguf');

// The golden greedy continuation of "Once upon a time" (text after the prompt).
export function goldenContinuation() {
  const ref = JSON.parse(readFileSync(storiesExpected, 'utf8')).prompted_greedy[0];
  if (!ref.full_text.startsWith(ref.prompt)) throw new Error('golden text lacks its prompt');
  return { prompt: ref.prompt, continuation: ref.full_text.slice(ref.prompt.length) };
}

async function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A running `ollama serve`. `host` is the base URL for the clients and fetch.
export class Server {
  constructor(proc, host, dir) {
    this.proc = proc;
    this.host = host;
    this.dir = dir;
    this.log = '';
    this.headers = {};  // sent with every request(): an API key, say
    proc.stdout.on('data', (d) => this.appendLog(d));
    proc.stderr.on('data', (d) => this.appendLog(d));
    this.exited = new Promise((r) => proc.on('exit', (code, sig) => r({ code, sig })));
  }

  appendLog(d) {
    this.log += d.toString();
    if (this.log.length > 200000) this.log = this.log.slice(-100000);
  }

  static async start(extraEnv = {}) {
    if (!existsSync(ollamaBin)) throw new Error(`ollama binary not found: ${ollamaBin}`);
    const dir = mkdtempSync(join(tmpdir(), 'ollama-js-'));
    const port = await freePort();
    const env = {
      ...process.env,
      OLLAMA_HOST: `127.0.0.1:${port}`,
      OLLAMA_MODELS: join(dir, 'models'),
      HOME: join(dir, 'home'),
      ...extraEnv,
    };
    const proc = spawn(ollamaBin, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new Server(proc, `http://127.0.0.1:${port}`, dir);
    const deadline = Date.now() + 30000;
    let exited = false;
    server.exited.then(() => (exited = true));
    while (Date.now() < deadline && !exited) {
      try {
        const res = await fetch(server.host + '/');
        if ((await res.text()) === 'Ollama is running') return server;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    await server.stop();
    throw new Error(`ollama serve did not come up on port ${port}:\n${server.log}`);
  }

  async stop() {
    const { exitCode, signalCode } = this.proc;
    if (exitCode !== null || signalCode !== null) {
      // It died during the tests: show why next to the failures it caused.
      console.error(`ollama serve exited early (code ${exitCode}, signal ${signalCode}); ` +
        `last log lines:\n${this.log.split('\n').slice(-40).join('\n')}`);
    } else {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  // fetch relative to the server; body objects are sent as JSON.
  async request(method, path, body) {
    const init = { method, headers: { ...this.headers } };
    if (body !== undefined) {
      const raw = typeof body === 'string' || body instanceof Uint8Array;
      init.body = raw ? body : JSON.stringify(body);
      if (!(body instanceof Uint8Array)) init.headers['Content-Type'] = 'application/json';
    }
    return fetch(this.host + path, init);
  }

  // Uploads a file as a blob; returns 'sha256:<hex>'.
  async uploadBlob(path) {
    const data = readFileSync(path);
    const digest = 'sha256:' + createHash('sha256').update(data).digest('hex');
    const res = await this.request('POST', `/api/blobs/${digest}`, new Uint8Array(data));
    if (res.status !== 200 && res.status !== 201) {
      throw new Error(`blob upload: HTTP ${res.status}: ${await res.text()}`);
    }
    return digest;
  }

  // Uploads stories260K and creates `model` from it through the official client.
  async createStories(client, model, extra = {}) {
    return this.createFrom(client, model, storiesGguf, extra);
  }

  // Uploads a GGUF file and creates `model` from it through the official client.
  async createFrom(client, model, gguf, extra = {}) {
    const digest = await this.uploadBlob(gguf);
    return client.create({ model, files: { 'model.gguf': digest }, stream: false, ...extra });
  }

  // True when `method path` is routed (anything but 404 for an unknown route / 405).
  // A known route answering 404 for a missing model is told apart by its JSON error body.
  async hasRoute(method, path, body) {
    let res;
    try {
      res = await this.request(method, path, body);
    } catch {
      return false;
    }
    const text = await res.text();
    if (res.status === 405) return false;
    if (res.status !== 404) return true;
    try {
      return typeof JSON.parse(text).error !== 'undefined';
    } catch {
      return false;
    }
  }
}

// Collects an async iterable into an array.
export async function collect(iter) {
  const out = [];
  for await (const x of iter) out.push(x);
  return out;
}

// The stories260K models the compatible-API tests share: `teller` renders "Once upon a " +
// the user text (user "time" continues the golden story), `sys` puts the system prompt first,
// `thinker` pre-opens <think> (all output is thinking unless think is off), `tooler` has tool
// calls in a <tool_call> tag and shows tool results and calls in its prompt.
export async function createCompatModels(server, client) {
  await server.createStories(client, 'teller', { template: 'Once upon a {{ .Prompt }}' });
  await server.createStories(client, 'sys', { template: '{{ .System }} {{ .Prompt }}' });
  await server.createStories(client, 'thinker', {
    template: '{{- range .Messages }}{{ if eq .Role "user" }}{{ .Content }}' +
      '{{ else if eq .Role "assistant" }}<think>{{ .Thinking }}</think>{{ .Content }}' +
      '{{ else if eq .Role "tool" }}[{{ .Content }}]{{ end }}{{ end }}' +
      '{{ if .Think }}<think>{{ end }}',
  });
  await server.createStories(client, 'tooler', {
    template: '{{ if .Tools }}{{ end }}{{ range .Messages }}{{ if eq .Role "tool" }}' +
      '<result>{{ .Content }}</result>{{ else }}{{ .Content }}{{ end }}{{ if .ToolCalls }}' +
      '<tool_call>{{ range .ToolCalls }}{"name": "{{ .Function.Name }}"}{{ end }}</tool_call>' +
      '{{ end }}{{ end }}',
  });
}
