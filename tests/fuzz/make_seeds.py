#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/).

GGUF seeds are small hand-built files covering every metadata value type, nested arrays, the
alignment key, several tensor types and both versions, plus tiny random models from
../shared/tools/make_tiny_gguf.py (with a hand-built 8-token vocabulary, so they stay ~1-3 KB).
Template seeds are the built-in templates (src/prompt/builtin.cpp) and Ollama-style templates
from real models; JSON seeds are realistic API bodies. Standard library only; deterministic.

Usage: tests/fuzz/make_seeds.py   (rewrites the seed-* files; other corpus files are kept)
"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED = os.path.join(ROOT, "..", "shared")
CORPUS = os.path.join(HERE, "corpus")
sys.path.insert(0, HERE)
from seed_data import JSON_BODIES, TEMPLATES  # noqa: E402

# GGUF metadata value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
          BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}
# ggml tensor type id -> (block size, block bytes)
TYPES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 8: (32, 34), 12: (256, 144), 14: (256, 210),
         24: (1, 1), 30: (1, 2), 39: (32, 17)}


def enc_str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def enc_value(t, v):
    if t in SCALAR:
        return struct.pack(SCALAR[t], v)
    if t == STR:
        return enc_str(v)
    elem_type, elems = v  # ARR: (element type, [values])
    return struct.pack("<IQ", elem_type, len(elems)) + b"".join(enc_value(elem_type, e)
                                                                 for e in elems)


def gguf(kvs, tensors=(), version=3, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, dims, type)], data laid out in order."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for key, t, v in kvs:
        out += enc_str(key) + struct.pack("<I", t) + enc_value(t, v)
    offset, sizes = 0, []
    for name, dims, t in tensors:
        bs, bb = TYPES[t]
        n = 1
        for d in dims:
            n *= d
        out += enc_str(name) + struct.pack("<I", len(dims)) + b"".join(
            struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", t, offset)
        sizes.append(n // bs * bb)
        offset += sizes[-1] + (-sizes[-1]) % alignment
    if tensors:
        out += b"\0" * ((-len(out)) % alignment)
        for k, size in enumerate(sizes):
            out += bytes((k * 37 + i) & 0xFF for i in range(size)) + b"\0" * ((-size) % alignment)
    return out


def tokenizer_kvs():
    tokens = ["<unk>", "<s>", "</s>", "\u2581a", "\u2581b", "a", "b", "\u2581ab"]
    return [
        ("tokenizer.ggml.model", STR, "llama"),
        ("tokenizer.ggml.tokens", ARR, (STR, tokens)),
        ("tokenizer.ggml.scores", ARR, (F32, [0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -4.0, -0.5])),
        ("tokenizer.ggml.token_type", ARR, (I32, [2, 3, 3, 1, 1, 1, 1, 1])),
        ("tokenizer.ggml.merges", ARR, (STR, ["\u2581 a", "\u2581a b"])),
        ("tokenizer.ggml.bos_token_id", U32, 1),
        ("tokenizer.ggml.eos_token_id", U32, 2),
        ("tokenizer.ggml.add_bos_token", BOOL, True),
        ("tokenizer.chat_template", STR, "{% for m in messages %}<|im_start|>{{ m.role }}\n"
         "{{ m.content }}<|im_end|>\n{% endfor %}"),
    ]


def gguf_seeds(tmp):
    every_type = [
        ("general.architecture", STR, "llama"),
        ("general.name", STR, "every-type"),
        ("general.file_type", U32, 15),
        ("general.alignment", U64, 64),
        ("u8", U8, 255), ("i8", I8, -128), ("u16", U16, 65535), ("i16", I16, -32768),
        ("u32", U32, 2**32 - 1), ("i32", I32, -2**31), ("f32", F32, 1.5), ("bool", BOOL, True),
        ("u64", U64, 2**64 - 1), ("i64", I64, -2**63), ("f64", F64, float("nan")),
        ("llama.context_length", U32, 2048), ("llama.embedding_length", I64, 4),
        ("llama.rope.freq_base", F32, 10000.0), ("llama.attention.head_count", U16, 1),
        ("empty", STR, ""), ("utf8", STR, "h\u00e9llo \u2581\U0001F600"),
        ("arr.empty", ARR, (U8, [])), ("arr.i16", ARR, (I16, [-1, 0, 1])),
        ("arr.u64", ARR, (U64, [0, 2**63])), ("arr.f64", ARR, (F64, [0.25, -1e300])),
        ("arr.bool", ARR, (BOOL, [False, True])),
        ("arr.nested", ARR, (ARR, [(I32, [1, 2]), (STR, ["x"]), (ARR, [(U8, [7])])])),
    ]
    seeds = {
        "seed-empty.bin": gguf([]),
        "seed-every-type.bin": gguf(every_type),
        "seed-tokenizer.bin": gguf([("general.architecture", STR, "llama")] + tokenizer_kvs()),
        "seed-v2.bin": gguf([("general.architecture", STR, "gpt2")],
                            [("token_embd.weight", [4, 2], 0)], version=2),
        "seed-tensor-types.bin": gguf(
            [("general.architecture", STR, "qwen3"), ("general.file_type", U32, 7)],
            [("f32", [4, 2], 0), ("f16", [8], 1), ("q4_0", [32], 2), ("q8_0", [32, 2], 8),
             ("q4_k", [256], 12), ("q6_k", [256], 14), ("i8", [3], 24),
             ("bf16", [2, 2, 2, 2], 30), ("mxfp4", [32], 39)]),
        "seed-align8.bin": gguf([("general.alignment", U32, 8)],
                                [("a", [2], 0), ("b", [3], 0), ("c", [1], 1)], alignment=8),
    }
    # Tiny random models as a loader sees them (hyper-parameters, tokenizer, every weight).
    vocab = os.path.join(tmp, "vocab.gguf")
    with open(vocab, "wb") as f:
        f.write(gguf([("general.architecture", STR, "llama")] + tokenizer_kvs()))
    tool = os.path.join(SHARED, "tools", "make_tiny_gguf.py")
    small = ["--n-embd", "4", "--n-layer", "1", "--n-head", "1", "--n-head-kv", "1",
             "--n-ff", "4", "--n-ctx", "16"]
    for arch, extra in [("llama", ["--dtype", "f16"]), ("gemma3", ["--swa", "4"]),
                        ("gpt-oss", ["--n-expert", "2", "--n-expert-used", "1", "--swa", "4"]),
                        ("bert", ["--pooling", "cls"])]:
        out = os.path.join(tmp, arch + ".gguf")
        subprocess.run([sys.executable, tool, "--arch", arch, "--vocab", vocab, "--out", out,
                        "--name", "t"] + small + extra, check=True, stdout=subprocess.DEVNULL)
        with open(out, "rb") as f:
            seeds["seed-model-%s.bin" % arch] = f.read()
    return seeds


def builtin_templates():
    with open(os.path.join(ROOT, "src", "prompt", "builtin.cpp")) as f:
        src = f.read()
    found = re.findall(r'const char\* k(\w+) = R"TPL\((.*?)\)TPL";', src, re.S)
    return {"seed-builtin-%s.tmpl" % name.lower(): text for name, text in found}


# fuzz_format: FORMAT [\0 OUTPUT]: schemas covering every keyword the compiler reads.
FORMATS = {
    "json": ("json", ' {"a": [1, "x", {"b": null}], "c": true}'),
    "object": ({"type": "object", "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 8},
        "age": {"type": "integer", "minimum": -5, "maximum": 120},
        "score": {"type": "number", "exclusiveMinimum": 0, "maximum": 1.5},
        "tags": {"type": "array", "items": {"enum": ["a", "b", 3]}, "maxItems": 3},
        "when": {"type": "string", "format": "date-time"},
        "id": {"type": "string", "format": "uuid"},
        "code": {"type": "string", "pattern": "^[A-Z]{2}-\\d{3}(x|yz)?$"},
        "opt": {"type": ["string", "null"]}},
        "required": ["name", "age"], "additionalProperties": {"type": "boolean"}},
        '{"name": "Ann", "age": 42, "score": 0.5, "tags": ["a", 3], "x": true}'),
    "refs": ({"$defs": {"node": {"type": "object", "properties": {
        "v": {"const": 1}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}},
        "anyOf": [{"$ref": "#/$defs/node"}, {"type": "array", "prefixItems": [{"type": "integer"}],
                                              "items": False}],
        "allOf": [{"properties": {"a": {"type": "integer"}}}]},
        '{"v": 1, "kids": [{"v": 1}]}'),
}


def write(target, files):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        if old.startswith("seed-"):
            os.remove(os.path.join(d, old))
    for name, content in sorted(files.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
    total = sum(len(c) for c in files.values())
    print("%-13s %3d seeds, %6d bytes" % (target, len(files), total))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        write("gguf", gguf_seeds(tmp))
    templates = builtin_templates()
    templates.update({"seed-%s.tmpl" % k: v for k, v in TEMPLATES.items()})
    # Harmony model output as EXTRA (flags: everything but tools, so EXTRA is the output text).
    templates["seed-harmony-output.bin"] = (
        "{{ .Prompt }}\0\x39<|channel|>analysis<|message|>Think.<|end|><|start|>assistant"
        "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
        '{"city":"x"}<|call|>')
    write("template", templates)
    write("json_request", {"seed-%s.json" % k: json.dumps(v, ensure_ascii=False)
                           if not isinstance(v, str) else v for k, v in JSON_BODIES.items()})
    write("format", {"seed-%s.txt" % k: (f if isinstance(f, str) else json.dumps(f)) + "\0" + out
                     for k, (f, out) in FORMATS.items()})


if __name__ == "__main__":
    main()
