// Used by tests/e2e/test_replicas.py: streams one /api/generate with the official `ollama`
// client, prints "first" when the first chunk arrives, then prints how the stream ended:
// "done" (the final chunk) or "error: <message>" (the client raised). Exits 0 either way.
//   node stream-until-cut.mjs HOST MODEL
import { Ollama } from 'ollama';

const [host, model] = process.argv.slice(2);
const client = new Ollama({ host });
let first = false;
try {
  const stream = await client.generate({
    model, prompt: 'Once', stream: true,
    options: { num_predict: -1, num_ctx: 2048, temperature: 0 },
  });
  for await (const part of stream) {
    if (!first) { first = true; console.log('first'); }
    if (part.done) { console.log('done'); process.exit(0); }
  }
  console.log('ended without done');
} catch (e) {
  console.log('error: ' + (e && e.message ? e.message : String(e)));
}
