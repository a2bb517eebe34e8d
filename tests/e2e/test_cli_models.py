"""The `ollama` CLI end to end: create/list/show/cp/rm/ps/stop/--version and their errors,
run as a real client of a real `ollama serve` on a free loopback port with a temp store."""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

from ollama_e2e import (ServerTestCase, file_digest, ollama_bin, require_file,
                        stories260k_path)

VERSION = "0.13.0"
CONNECT_ERROR = "Error: could not connect to ollama server, run 'ollama serve' to start it\n"

TEMPLATE = ("{{ if .System }}<|system|>\n{{ .System }}{{ end }}<|user|>\n"
            "{{ .Prompt }}<|assistant|>\n")
LICENSE = ("MIT License\n\nCopyright (c) 2023 Andrej Karpathy\n\n"
           "Permission is hereby granted, free of charge")
MODELFILE = '''FROM ./stories260K.gguf
TEMPLATE """{template}"""
SYSTEM You are a storyteller.
PARAMETER temperature 0.7
PARAMETER stop <|user|>
PARAMETER stop "<|system|>"
MESSAGE user Tell me a story
MESSAGE assistant Once upon a time
LICENSE """{license}"""
'''.format(template=TEMPLATE, license=LICENSE)


def table(rows, header=None):
    """Ollama's borderless table (tablewriter, 4-space padding), for short cells."""
    cols = max([len(header or [])] + [len(r) for r in rows])
    width = [0] * cols
    for r in ([header] if header else []) + rows:
        for i, c in enumerate(r):
            width[i] = max(width[i], len(c))
    out = ""
    if header:
        out += "".join(h.ljust(width[i]) + (" " if i == cols - 1 else "    ")
                       for i, h in enumerate(header)) + "\n"
    for r in rows:
        out += "".join(c.ljust(width[i]) + "    " for i, c in enumerate(r)) + "\n"
    return out


def human_bytes(b):
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if b >= size:
            v = b / size
            return "%d %s" % (int(v), unit) if v >= 10 or v == int(v) else "%.1f %s" % (v, unit)
    return "%d B" % b


def closed_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CliModelsTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        require_file(stories260k_path())
        super().setUpClass()
        cls.work = tempfile.mkdtemp(prefix="ollama-cli-e2e-")
        shutil.copy(stories260k_path(), os.path.join(cls.work, "stories260K.gguf"))
        with open(os.path.join(cls.work, "Modelfile"), "w") as f:
            f.write(MODELFILE)
        cls.create_result = cls.cli("create", "stories", "-f",
                                    os.path.join(cls.work, "Modelfile"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def cli(cls, *args, env=None, cwd=None):
        e = dict(cls.server.env_for_client())
        e.update(env or {})
        return subprocess.run([ollama_bin()] + list(args), env=e, cwd=cwd or cls.work,
                              capture_output=True, text=True, timeout=120)

    def ok(self, *args, **kw):
        r = self.cli(*args, **kw)
        self.assertEqual(r.returncode, 0, "ollama %s failed: %s" % (" ".join(args), r.stderr))
        return r

    def fails(self, *args, **kw):
        r = self.cli(*args, **kw)
        self.assertEqual(r.returncode, 1, "ollama %s: %r" % (" ".join(args), r))
        return r

    def list_names(self):
        out = self.ok("list").stdout.splitlines()
        return sorted(line.split()[0] for line in out[1:])

    def manifest_layer(self, media_type):
        path = os.path.join(self.server.models_dir, "manifests", "registry.ollama.ai",
                            "library", "stories", "latest")
        with open(path) as f:
            m = json.load(f)
        return [l["digest"] for l in m["layers"] if l["mediaType"] == media_type][0]

    # --- create ---------------------------------------------------------------------------

    def test_create_progress(self):
        r = self.create_result
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertEqual(lines[0], "gathering model components")
        self.assertEqual(lines[1], "copying file %s 100%%" % file_digest(stories260k_path()))
        self.assertIn("writing manifest", lines)
        self.assertEqual(lines[-1], "success")
        self.assertTrue(any(l.startswith("creating new layer sha256:") for l in lines), lines)

    def test_create_by_name_and_relative_default_modelfile(self):
        d = tempfile.mkdtemp(dir=self.work)
        with open(os.path.join(d, "Modelfile"), "w") as f:
            f.write("FROM stories\nSYSTEM Short stories only.\n")
        self.ok("create", "stories-short", cwd=d)  # ./Modelfile by default
        try:
            self.assertEqual(self.ok("show", "stories-short", "--system").stdout,
                             "Short stories only.")
            self.assertEqual(self.ok("show", "stories-short", "--template").stdout, TEMPLATE)
        finally:
            self.ok("rm", "stories-short")

    def test_create_quantize_passes_through(self):
        self.ok("create", "stories-q8", "-q", "q8_0", "-f", "Modelfile")
        try:
            out = self.ok("show", "stories-q8").stdout
            self.assertRegex(out, r"\n    quantization        Q8_0 +\n")
            sizes = {t["name"]: t["size"] for t in self.server.get("/api/tags").json()["models"]}
            self.assertLess(sizes["stories-q8:latest"], sizes["stories:latest"])
        finally:
            self.ok("rm", "stories-q8")

    def test_create_on_a_terminal_redraws_progress(self):
        import pty
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(self.work)
            os.execve(ollama_bin(), [ollama_bin(), "create", "stories-tty"],
                      self.server.env_for_client())
        out = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, out)
        text = out.decode("utf-8", errors="replace")
        self.assertTrue(text.startswith("\x1b[?25l"), text[:80])  # cursor hidden while drawing
        self.assertIn("gathering model components", text)
        self.assertIn("\x1b[K", text)  # lines are cleared and redrawn in place
        self.assertTrue(text.endswith("success \x1b[K\x1b[?2026l\r\n\x1b[?25h"), text[-80:])
        self.ok("rm", "stories-tty")

    def test_create_errors(self):
        r = self.fails("create", "x", "-f", "no-such-Modelfile")
        self.assertEqual(r.stderr, "Error: specified Modelfile wasn't found\n")
        empty = tempfile.mkdtemp(dir=self.work)  # no ./Modelfile: "FROM ." (the directory)
        r = self.fails("create", "x", cwd=empty)
        self.assertEqual(r.stderr, "gathering model components\n"
                         "Error: no Modelfile or safetensors files found\n")
        r = self.fails("create", "a//b", "-f", "Modelfile")
        self.assertEqual(r.stderr, "Error: invalid model name: a//b\n")
        bad = os.path.join(self.work, "Bad.modelfile")
        with open(bad, "w") as f:
            f.write("FROM ./stories260K.gguf\nFOO bar\n")
        r = self.fails("create", "x", "-f", bad)
        self.assertEqual(r.stderr, 'Error: (line 2): command must be one of "from", "license", '
                         '"template", "system", "adapter", "draft", "renderer", "parser", '
                         '"parameter", "message", or "requires"\n')
        with open(bad, "w") as f:
            f.write("FROM ./stories260K.gguf\nPARAMETER temperature hot\n")
        r = self.fails("create", "x", "-f", bad)
        # Parameters are typed while gathering components, so that line shows first.
        self.assertEqual(r.stderr, "gathering model components\nError: invalid float value [hot]\n")

    def test_create_corrupt_gguf_leaves_store_unchanged(self):
        before = self.list_names()
        with open(stories260k_path(), "rb") as f:
            data = f.read()
        broken = os.path.join(self.work, "broken.gguf")
        with open(broken, "wb") as f:
            f.write(data[:4096])  # valid header, truncated tensor data
        mf = os.path.join(self.work, "Broken.modelfile")
        with open(mf, "w") as f:
            f.write("FROM ./broken.gguf\n")
        r = self.fails("create", "broken", "-f", mf)
        last = r.stderr.splitlines()[-1]
        self.assertTrue(last.startswith("Error: "), r.stderr)
        self.assertEqual(self.list_names(), before)

    # --- list / ps --------------------------------------------------------------------------

    def test_list(self):
        tags = self.server.get("/api/tags").json()["models"]
        m = [t for t in tags if t["name"] == "stories:latest"][0]
        out = self.ok("list").stdout
        lines = out.splitlines(True)
        rows = [l for l in lines[1:] if l.startswith("stories:latest ")]
        self.assertEqual(len(rows), 1, out)
        cols = re.split(r" {4,}", rows[0].rstrip(" \n"))
        self.assertEqual(cols[:3], ["stories:latest", m["digest"][:12], human_bytes(m["size"])])
        self.assertRegex(cols[3], r"^(Less than a second|1 second|\d+ seconds|About a minute) ago$")
        # Filter by prefix (case-insensitive); no match prints only the header.
        self.assertIn("stories:latest", self.ok("ls", "STOR").stdout)
        self.assertEqual(self.ok("list", "zzz").stdout, "NAME    ID    SIZE    MODIFIED \n")

    def test_ps_empty(self):
        self.assertEqual(self.ok("ps").stdout,
                         "NAME    ID    SIZE    PROCESSOR    CONTEXT    UNTIL \n")

    # --- show -------------------------------------------------------------------------------

    def test_show_default(self):
        out = self.ok("show", "stories").stdout
        expected = (
            "  Model\n" + table([["", "architecture", "llama"],
                                 ["", "parameters", "293K"],
                                 ["", "context length", "2048"],
                                 ["", "embedding length", "64"],
                                 # no general.file_type in this GGUF: Ollama says unknown
                                 ["", "quantization", "unknown"]]) + "\n"
            "  Capabilities\n" + table([["", "completion"]]) + "\n"
            "  Parameters\n" + table([["", "stop", '"<|user|>"'],
                                      ["", "stop", '"<|system|>"'],
                                      ["", "temperature", "0.7"]]) + "\n"
            "  System\n" + table([["", "You are a storyteller."]]) + "\n"
            "  License\n" + table([["", "MIT License"],
                                   ["", "Copyright (c) 2023 Andrej Karpathy"],
                                   ["", "..."]]) + "\n")
        self.assertEqual(out, expected)

    def test_show_fields(self):
        self.assertEqual(self.ok("show", "stories", "--template").stdout, TEMPLATE)
        self.assertEqual(self.ok("show", "stories", "--system").stdout, "You are a storyteller.")
        self.assertEqual(self.ok("show", "stories", "--license").stdout, LICENSE + "\n")
        params = ('stop                           "<|user|>"\n'
                  'stop                           "<|system|>"\n'
                  'temperature                    0.7')
        self.assertEqual(self.ok("show", "stories", "--parameters").stdout, params + "\n")

    def test_show_modelfile(self):
        # Multi-line values without '"' are written in "..." quotes (§6.1).
        model = self.manifest_layer("application/vnd.ollama.image.model")
        blob = os.path.join(self.server.models_dir, "blobs", model.replace(":", "-"))
        expected = (
            '# Modelfile generated by "ollama show"\n'
            "# To build a new Modelfile based on this, replace FROM with:\n"
            "# FROM stories:latest\n\n"
            "FROM %s\n"
            'TEMPLATE "%s"\n'
            "SYSTEM You are a storyteller.\n"
            "PARAMETER stop <|user|>\n"
            "PARAMETER stop <|system|>\n"
            "PARAMETER temperature 0.7\n"
            'LICENSE "%s"\n'
            "MESSAGE user Tell me a story\n"
            "MESSAGE assistant Once upon a time\n\n") % (blob, TEMPLATE, LICENSE)
        self.assertEqual(self.ok("show", "stories", "--modelfile").stdout, expected)

    def test_show_verbose(self):
        out = self.ok("show", "stories", "-v").stdout
        self.assertTrue(out.startswith("  Model\n    architecture        llama      \n"), out[:200])
        self.assertIn("\n  Metadata\n", out)
        self.assertIn("\n  Tensors\n", out)
        self.assertRegex(out, r"\n    general\.architecture +llama +\n")
        self.assertRegex(out, r"\n    general\.parameter_count +292800 +\n")
        self.assertRegex(out, r"\n    tokenizer\.ggml\.tokens +\[<unk> \.\.\.\+511 more\] +\n")
        self.assertRegex(out, r"\n    token_embd\.weight +F32 +\[64 512\] +\n")
        # Sections come in Ollama's order.
        order = [out.index("  " + s + "\n") for s in
                 ("Model", "Capabilities", "Parameters", "Metadata", "Tensors", "System",
                  "License")]
        self.assertEqual(order, sorted(order))

    def test_show_errors(self):
        r = self.fails("show", "stories", "--license", "--system")
        self.assertEqual(r.stderr, "Error: only one of '--license', '--modelfile', "
                         "'--parameters', '--system', or '--template' can be specified\n")
        r = self.fails("show", "nope")
        self.assertEqual(r.stderr, "Error: model 'nope' not found\n")
        r = self.fails("show")
        self.assertEqual(r.stderr, "Error: accepts 1 arg(s), received 0\n")
        r = self.fails("show", "stories", "--bogus")
        self.assertEqual(r.stderr, "Error: unknown flag: --bogus\n")

    # --- cp / rm / stop ---------------------------------------------------------------------

    def test_cp_and_rm(self):
        r = self.ok("cp", "stories", "stories-copy")
        self.assertEqual(r.stdout, "copied 'stories' to 'stories-copy'\n")
        self.ok("cp", "stories", "myns/other:v2")
        names = self.list_names()
        self.assertIn("stories-copy:latest", names)
        self.assertIn("myns/other:v2", names)
        r = self.ok("rm", "stories-copy", "myns/other:v2")
        self.assertEqual(r.stdout, "deleted 'stories-copy'\ndeleted 'myns/other:v2'\n")
        names = self.list_names()
        self.assertNotIn("stories-copy:latest", names)
        self.assertNotIn("myns/other:v2", names)
        self.assertIn("stories:latest", names)

    def test_cp_rm_errors(self):
        r = self.fails("cp", "nope", "x")
        self.assertEqual(r.stderr, 'Error: model "nope" not found\n')
        r = self.fails("cp", "stories", "a//b")
        self.assertEqual(r.stderr, 'Error: destination "a//b" is invalid\n')
        r = self.fails("rm", "nope")
        self.assertEqual(r.stderr.splitlines()[-1], "Error: model 'nope' not found")
        r = self.fails("cp", "stories")
        self.assertEqual(r.stderr, "Error: accepts 2 arg(s), received 1\n")
        r = self.fails("rm")
        self.assertEqual(r.stderr, "Error: requires at least 1 arg(s), only received 0\n")

    def test_stop_missing_model(self):
        r = self.fails("stop", "nope")
        self.assertEqual(r.stderr, 'Error: couldn\'t find model "nope" to stop\n')

    # --- version / connection ---------------------------------------------------------------

    def test_version(self):
        for flag in ("-v", "--version"):
            r = self.ok(flag)
            self.assertEqual(r.stdout, "ollama version is %s\n" % VERSION)

    def test_version_without_server(self):
        r = self.ok("--version", env={"OLLAMA_HOST": "127.0.0.1:%d" % closed_port()})
        self.assertEqual(r.stdout, "Warning: could not connect to a running Ollama instance\n"
                         "Warning: client version is %s\n" % VERSION)

    def test_closed_port_connect_error(self):
        env = {"OLLAMA_HOST": "127.0.0.1:%d" % closed_port()}
        for args in (["list"], ["ps"], ["show", "stories"], ["cp", "a", "b"], ["rm", "a"],
                     ["create", "x", "-f", "Modelfile"], ["stop", "a"]):
            r = self.fails(*args, env=env)
            self.assertEqual(r.stderr, CONNECT_ERROR, args)
            self.assertEqual(r.stdout, "", args)

    def test_host_url_forms(self):
        # OLLAMA_HOST with a scheme, and the unspecified address, both reach the server.
        port = self.server.port
        for host in ("http://127.0.0.1:%d" % port, "0.0.0.0:%d" % port):
            r = self.ok("list", env={"OLLAMA_HOST": host})
            self.assertTrue(r.stdout.startswith("NAME "), r.stdout)

    def test_unknown_command_and_help(self):
        r = self.fails("lisst")
        self.assertEqual(r.stderr, 'Error: unknown command "lisst" for "ollama"\n\n'
                         "Did you mean this?\n\tlist\n\n")
        r = self.ok("--help")
        self.assertIn("Available Commands:\n  serve       Start Ollama\n", r.stdout)
        r = self.ok("help", "rm")
        self.assertTrue(r.stdout.startswith("Remove a model\n\nUsage:\n  ollama rm MODEL [MODEL...] "
                                            "[flags]\n"), r.stdout)


if __name__ == "__main__":
    unittest.main()
