"""`ollama run` against the real server with stories260K (template {{ .Prompt }},
temperature 0, num_predict 20): one-shot, piped stdin, --verbose, flag errors, the interactive
REPL through a pseudo-terminal; and `ollama bench` on the GGUF."""

import json
import os
import re
import time
import unittest

from cli_pty import PtyProcess
from ollama_e2e import (ServerTestCase, ollama_bin, require_file, stories260k_path, testdata)

MODEL = "stories"


def golden_continuation():
    with open(require_file(testdata("real", "stories260K.expected.json"))) as f:
        case = json.load(f)["prompted_greedy"][0]
    assert case["prompt"] == "Once upon a time"
    return case["full_text"][len(case["prompt"]):]


class RunOneShot(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.create_stories(MODEL, template="{{ .Prompt }}",
                                  parameters={"temperature": 0, "num_predict": 20})
        cls.golden = golden_continuation()

    def assert_golden(self, out):
        self.assertTrue(out.endswith("\n\n"), repr(out))
        text = out[:-2]
        self.assertGreater(len(text), 20, repr(out))
        self.assertTrue(self.golden.startswith(text), "%r is not a prefix of %r" % (text, self.golden))

    def test_prompt_argument_prints_the_greedy_continuation(self):
        r = self.server.run_cli("run", MODEL, "Once upon a time", input="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_golden(r.stdout)
        self.assertEqual(r.stderr, "")  # no spinner, no stats when not asked and not a terminal

    def test_format_flag_constrains_the_answer(self):
        schema = '{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}'
        r = self.server.run_cli("run", MODEL, "--format", schema, "Once upon a time", input="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsInstance(json.loads(r.stdout)["ok"], bool)
        r = self.server.run_cli("run", MODEL, "--format", "json", "Once upon a time", input="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.lstrip().startswith("{"), r.stdout)
        r = self.server.run_cli("run", MODEL, "--format", '{"type":"strin"}', "hi", input="")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("format", r.stderr)

    def test_prompt_words_are_joined_and_stdin_is_prepended(self):
        r = self.server.run_cli("run", MODEL, input="Once upon a time")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_golden(r.stdout)
        r = self.server.run_cli("run", MODEL, "a", "time", input="Once upon")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_golden(r.stdout)

    def test_verbose_prints_stats_to_stderr(self):
        r = self.server.run_cli("run", "--verbose", MODEL, "Once upon a time", input="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_golden(r.stdout)
        lines = r.stderr.splitlines()
        labels = [l[:22] for l in lines]
        for label in ("total duration:       ", "prompt eval count:    ", "eval count:           ",
                      "eval duration:        ", "eval rate:            "):
            self.assertIn(label, labels, r.stderr)
        self.assertIn("eval count:           20 token(s)", lines)
        self.assertRegex(r.stderr, r"(?m)^prompt eval count:    \d+ token\(s\)$")
        self.assertRegex(r.stderr, r"(?m)^eval rate:            \d+\.\d\d tokens/s$")
        self.assertRegex(r.stderr, r"(?m)^total duration:       [0-9.]+(ns|µs|ms|s|m\d.*s)$")

    def test_keepalive_and_think_errors(self):
        r = self.server.run_cli("run", MODEL, "--keepalive", "3600", "hi", input="")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, 'Error: time: missing unit in duration "3600"\n')
        r = self.server.run_cli("run", MODEL, "--think=maybe", "hi", input="")
        self.assertEqual(r.returncode, 1)
        self.assertIn('invalid value for --think: "maybe"', r.stderr)
        r = self.server.run_cli("run", MODEL, "--keepalive", "1m", "Once upon a time", input="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_golden(r.stdout)

    def test_missing_model_tries_to_pull(self):
        r = self.server.run_cli("run", "no-such-model-here", "hi", input="", timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn("pulling manifest", r.stderr)
        self.assertTrue(r.stderr.rstrip("\n").splitlines()[-1].startswith("Error: "), r.stderr)

    def test_bench_json(self):
        r = self.server.run_cli("bench", require_file(stories260k_path()), "-p", "16", "-n", "8",
                                "--json", timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        report = json.loads(r.stdout)
        for key in ("prefill_tps", "decode_tps", "weight_bytes", "bandwidth_gbs",
                    "decode_roofline", "load_s", "n_prompt", "n_gen"):
            self.assertIn(key, report)
        self.assertEqual(report["n_prompt"], 16)
        self.assertEqual(report["n_gen"], 8)
        self.assertGreater(report["decode_tps"], 0)
        self.assertGreater(report["weight_bytes"], 0)
        # A local model name resolves through the store to the same weights.
        r = self.server.run_cli("bench", MODEL, "-p", "8", "-n", "4", timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("decode", r.stdout)


class RunInteractive(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.create_stories(MODEL, template="{{ .Prompt }}",
                                  parameters={"temperature": 0, "num_predict": 20})

    def spawn(self, *args):
        p = PtyProcess([ollama_bin()] + list(args), self.server.env_for_client())
        self.addCleanup(p.close)
        return p

    def command(self, p, line, expect, timeout=60):
        m = p.mark()
        p.send(line + "\r")
        out = p.read_until(expect + r"[\s\S]*>>> ", timeout=timeout, start=m)
        return out

    def test_repl_session(self):
        p = self.spawn("run", MODEL)
        p.read_until(r">>> ", timeout=60)

        out = self.command(p, "Once upon a time", r"there was")
        self.assertIn(golden_continuation()[:20], out)

        out = self.command(p, "/set parameter num_predict 5", r"Set parameter")
        self.assertIn("Set parameter 'num_predict' to '5'", out)

        out = self.command(p, "/show parameters", r"User defined parameters:")
        self.assertIn("Model defined parameters:", out)
        self.assertRegex(out, r"(?m)^  temperature\s+0$")
        self.assertRegex(out, r"(?m)^  num_predict {20}5$")

        # A """ block: the continuation prompt, then one message of both lines.
        m = p.mark()
        p.send('"""Once upon\r')
        p.read_until(r"\.\.\. ", timeout=10, start=m)
        out = self.command(p, 'a time"""', r"\S")
        self.assertNotIn("Unknown command", out)

        out = self.command(p, "/set format json", r"Set format to 'json' mode\.")
        out = self.command(p, "Once upon a time", r"\{")
        out = self.command(p, "/set noformat", r"Disabled format\.")

        out = self.command(p, "/set system Be brief.", r"Set system message\.")
        out = self.command(p, "/show system", r"Be brief\.")

        out = self.command(p, "/clear", r"Cleared session context")
        out = self.command(p, "/foo bar", r"Unknown command")
        self.assertIn("Unknown command '/foo'. Type /? for help", out)
        out = self.command(p, "/set bogus", r"Unknown command")
        self.assertIn("Unknown command '/set bogus'. Type /? for help", out)
        out = self.command(p, "/?", r"Available Commands:")
        self.assertIn("/bye            Exit", out)

        # Ctrl-C on an empty line keeps the session and says how to leave.
        m = p.mark()
        p.send("\x03")
        p.read_until(r"Use Ctrl \+ d or /bye to exit\.", timeout=10, start=m)

        p.send("/bye\r")
        self.assertEqual(p.wait(timeout=20), 0)

        with open(os.path.join(self.server.home, ".ollama", "history")) as f:
            history = f.read().splitlines()
        self.assertIn("/set parameter num_predict 5", history)

    def test_ctrl_c_stops_generation_and_stays(self):
        p = self.spawn("run", MODEL)
        p.read_until(r">>> ", timeout=60)
        self.command(p, "/set parameter num_predict 100000", r"Set parameter")
        m = p.mark()
        p.send("Once upon a time\r")
        p.read_until(r"there was", timeout=30, start=m)  # generation is under way
        m = p.mark()
        p.send("\x03")
        p.read_until(r">>> ", timeout=10, start=m)
        out = self.command(p, "/show parameters", r"User defined parameters:")
        self.assertIn("num_predict", out)
        p.send("/bye\r")
        self.assertEqual(p.wait(timeout=20), 0)

    def test_nohistory_keeps_no_history_file(self):
        env = dict(self.server.env_for_client(), OLLAMA_NOHISTORY="1")
        home = os.path.join(self.server.tmpdir, "home-nohistory")
        os.makedirs(home)
        env["HOME"] = home
        p = PtyProcess([ollama_bin(), "run", MODEL], env)
        self.addCleanup(p.close)
        p.read_until(r">>> ", timeout=60)
        self.command(p, "/clear", r"Cleared session context")
        p.send("/bye\r")
        self.assertEqual(p.wait(timeout=20), 0)
        self.assertFalse(os.path.exists(os.path.join(home, ".ollama", "history")))

    def test_ctrl_d_exits(self):
        p = self.spawn("run", MODEL, "--nowordwrap")
        p.read_until(r">>> ", timeout=60)
        # libedit draws the prompt before it switches the terminal to raw mode; a Ctrl-D typed
        # in that instant would be the cooked-mode EOF character instead of a key.
        time.sleep(0.3)
        p.send("\x04")
        self.assertEqual(p.wait(timeout=20), 0)


if __name__ == "__main__":
    unittest.main()
