// Routing for ollama-cpp replicas behind nginx (njs 0.7+; deploy/nginx/README.md).
//
//   modelKey: the key the upstream hashes on, so each model keeps to one replica (its
//             weights loaded, its prefix cache warm) and moves to the next one on the ring
//             only when that replica is down.
//   fanout:   sends a model-management request (pull, create, copy, delete, blob
//             upload/check) to every replica, so a model lands everywhere and fail-over
//             finds it; the client gets one answer.
//   ps:       /api/ps of every replica, merged.

function replicas(r) {
  return r.variables.ollama_replicas.split(/\s+/).filter(function (s) { return s.length; });
}

// Ollama's names are case-insensitive, "m" is "m:latest" and the default registry and
// namespace may be spelled out: all spellings of one model hash alike.
function normalize(name) {
  var n = name.trim().toLowerCase();
  if (n.startsWith('registry.ollama.ai/')) n = n.slice('registry.ollama.ai/'.length);
  if (n.startsWith('library/')) n = n.slice('library/'.length);
  var slash = n.lastIndexOf('/');
  if (n.indexOf(':', slash + 1) < 0) n += ':latest';
  return n;
}

function bodyJson(r) {
  var text;
  try {
    text = r.requestText;
  } catch (e) {
    return null;  // the body went to a temporary file: larger than client_body_buffer_size
  }
  if (!text) return null;
  try {
    var v = JSON.parse(text);
    return (v && typeof v === 'object' && !Array.isArray(v)) ? v : null;
  } catch (e) {
    return null;
  }
}

// X-Ollama-Model header, else the JSON body's "model" (or "name", as /api/show and
// /api/push accept), else /v1/models/NAME; requests naming no model spread by request id.
function modelKey(r) {
  var h = r.headersIn['X-Ollama-Model'];
  if (h) return normalize(h);
  var body = bodyJson(r);
  if (body) {
    var m = typeof body.model === 'string' && body.model ? body.model : body.name;
    if (typeof m === 'string' && m) return normalize(m);
  }
  if (r.uri.startsWith('/v1/models/') && r.uri.length > '/v1/models/'.length)
    return normalize(r.uri.slice('/v1/models/'.length));  // nginx has decoded the path
  return r.variables.request_id;
}

function line(obj) {
  return JSON.stringify(obj) + '\n';
}

// The error a replica answered with, or what nginx says about a replica it could not reach.
function replicaError(addr, reply) {
  var msg = 'HTTP ' + reply.status;
  try {
    var v = JSON.parse(reply.responseText);
    if (v && v.error) msg = typeof v.error === 'string' ? v.error : JSON.stringify(v.error);
  } catch (e) {
    if (reply.status === 502 || reply.status === 504) msg = 'replica unavailable';
  }
  return 'replica ' + addr + ': ' + msg;
}

// "replica A: not found; replica B: not found" reads "not found (replicas A, B)".
function joinErrors(failed) {
  var byMsg = {}, order = [];
  failed.forEach(function (x) {
    var msg = x.error.slice(('replica ' + x.addr + ': ').length);
    if (!byMsg[msg]) { byMsg[msg] = []; order.push(msg); }
    byMsg[msg].push(x.addr);
  });
  return order.map(function (m) {
    var a = byMsg[m];
    return m + (a.length > 1 ? ' (replicas ' : ' (replica ') + a.join(', ') + ')';
  }).join('; ');
}

function ask(r, addr, opts) {
  return r.subrequest('/_replica/' + addr + r.uri, opts).then(
    function (reply) { return {addr: addr, status: reply.status, reply: reply}; },
    function (e) { return {addr: addr, status: 502, error: 'replica ' + addr + ': ' + e.message}; });
}

// Pull and create stream progress by default; replicas are asked without streaming and
// the client sees one line per replica as it finishes, then "success" or the first error.
async function fanout(r) {
  var addrs = replicas(r);
  var opts = {method: r.method, args: r.variables.args || ''};
  var stream = false;
  var isBlob = r.uri.startsWith('/api/blobs/');
  if (!isBlob && r.method !== 'HEAD' && r.method !== 'GET') {
    var body = bodyJson(r);
    var streams = r.uri === '/api/pull' || r.uri === '/api/create';
    if (body && streams && body.stream !== false) {
      stream = true;
      body.stream = false;
      opts.body = JSON.stringify(body);
    } else {
      var text;
      try { text = r.requestText; } catch (e) { text = undefined; }
      if (text !== undefined) opts.body = text;
    }
  }
  if (stream) {
    r.status = 200;
    r.headersOut['Content-Type'] = 'application/x-ndjson';
    r.sendHeader();
    r.send(line({status: 'sending to ' + addrs.length + ' replicas'}));
  }
  var results = await Promise.all(addrs.map(function (addr) {
    return ask(r, addr, opts).then(function (res) {
      if (!res.error && (res.status < 200 || res.status >= 300))
        res.error = replicaError(addr, res.reply);
      if (stream)
        r.send(line({status: res.error ? res.error : 'replica ' + addr + ': success'}));
      return res;
    });
  }));
  var failed = results.filter(function (x) { return x.error; });
  if (stream) {
    r.send(failed.length ? line({error: joinErrors(failed)})
                         : line({status: 'success'}));
    r.finish();
    return;
  }
  if (r.method === 'HEAD') {  // a blob exists only where every replica has it
    r.return(failed.length ? (failed[0].status === 404 ? 404 : failed[0].status) : 200);
    return;
  }
  if (failed.length) {
    r.headersOut['Content-Type'] = 'application/json; charset=utf-8';
    r.return(failed[0].status,
             JSON.stringify({error: joinErrors(failed)}));
    return;
  }
  var first = results[0].reply;
  var ct = first.headersOut['Content-Type'];
  if (ct) r.headersOut['Content-Type'] = ct;
  r.return(first.status, first.responseText || '');
}

// GET /api/ps: the models loaded on every replica that answers, one list.
async function ps(r) {
  var results = await Promise.all(replicas(r).map(function (addr) {
    return ask(r, addr, {method: 'GET'});
  }));
  var models = [];
  results.forEach(function (x) {
    if (x.error || x.status !== 200) return;
    try {
      var v = JSON.parse(x.reply.responseText);
      if (v && Array.isArray(v.models)) models = models.concat(v.models);
    } catch (e) { /* a replica answering garbage is left out */ }
  });
  r.headersOut['Content-Type'] = 'application/json; charset=utf-8';
  r.return(200, JSON.stringify({models: models}));
}

export default {modelKey, fanout, ps};
