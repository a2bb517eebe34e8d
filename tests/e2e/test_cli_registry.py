"""`ollama push` / `ollama pull` (and `run`'s auto-pull) against a real docker-registry on
loopback: plain progress lines when stderr is not a terminal, redrawn bars on a terminal."""

import os
import shutil
import subprocess
import tempfile
import unittest

from cli_pty import PtyProcess, strip_ansi
from ollama_e2e import (REGISTRY, ServerTestCase, ollama_bin, shared_dir, start_registry,
                        stop_registry)




@unittest.skipUnless(os.path.exists(REGISTRY), "docker-registry not installed")
class CliPushPull(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reg_pid, cls.reg_port, cls.reg_dir = start_registry()
        cls.name = "127.0.0.1:%d/library/stories:latest" % cls.reg_port
        cls.server.create_stories(cls.name, template="{{ .Prompt }}",
                                  parameters={"temperature": 0, "num_predict": 8})
        r = cls.server.run_cli("push", "--insecure", cls.name)
        cls.push_result = r

    @classmethod
    def tearDownClass(cls):
        stop_registry(cls.reg_pid)
        shutil.rmtree(cls.reg_dir, ignore_errors=True)
        super().tearDownClass()

    def remove_local(self):
        r = self.server.run_cli("rm", self.name)
        self.assertEqual(r.returncode, 0, r.stderr)

    def layer_digests(self):
        r = self.server.post("/api/show", {"model": self.name, "verbose": False})
        self.assertEqual(r.status, 200, r)
        return r

    def test_push_plain_output(self):
        r = self.push_result
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stderr.splitlines()
        self.assertEqual(lines[0], "retrieving manifest")
        # One finished bar per layer, labelled with the server's status.
        bars = [l for l in lines if l.startswith("pushing ") and "100%" in l]
        self.assertGreaterEqual(len(bars), 2, r.stderr)
        for l in bars:
            self.assertRegex(l, r"^pushing [0-9a-f]{12} 100% ▕█+▏ +[0-9.]+ [KMG]?B$")
        self.assertEqual(lines[-2:], ["pushing manifest", "success"])
        self.assertEqual(r.stdout, "\nYou can find your model at:\n\n\t%s\n" % self.name)

    def test_pull_plain_output_then_tty_bars(self):
        self.remove_local()
        r = self.server.run_cli("pull", "--insecure", self.name)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertEqual(lines[0], "pulling manifest")
        bars = [l for l in lines if l.startswith("pulling ") and l != "pulling manifest"]
        self.assertGreaterEqual(len(bars), 2, r.stderr)
        for l in bars:
            self.assertRegex(l, r"^pulling [0-9a-f]{12}: 100% ▕█+▏ +[0-9.]+ [KMG]?B$")
        self.assertEqual(lines[-3:], ["verifying sha256 digest", "writing manifest", "success"])
        self.assertEqual(self.server.post("/api/show", {"model": self.name}).status, 200)

        # On a terminal the same pull redraws bars in place.
        self.remove_local()
        p = PtyProcess([ollama_bin(), "pull", "--insecure", self.name],
                       self.server.env_for_client(), cols=120)
        self.addCleanup(p.close)
        self.assertEqual(p.wait(timeout=60), 0, strip_ansi(p.buffer))
        self.assertIn("\x1b[", p.buffer)  # cursor movement / line clearing
        text = strip_ansi(p.buffer)
        self.assertRegex(text, r"pulling [0-9a-f]{12}: +\d+% ▕")
        self.assertIn("success", text)

    def test_run_pulls_a_missing_model_first(self):
        self.remove_local()
        r = self.server.run_cli("run", "--insecure", self.name, "Once upon a time", input="")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("pulling manifest", r.stderr)
        self.assertIn("success", r.stderr)
        self.assertTrue(r.stdout.startswith(", there was"), r.stdout)

    def test_errors(self):
        missing = "127.0.0.1:%d/library/nothere:latest" % self.reg_port
        r = self.server.run_cli("pull", "--insecure", missing)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.splitlines()[-1].startswith("Error: "), r.stderr)
        r = self.server.run_cli("push", "--insecure", "127.0.0.1:%d/library/absent" % self.reg_port)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.splitlines()[-1].startswith("Error: "), r.stderr)
        r = self.server.run_cli("pull")
        self.assertEqual(r.returncode, 1)
        self.assertIn("accepts 1 arg(s), received 0", r.stderr)


@unittest.skipUnless(os.path.exists(REGISTRY) and shutil.which("htpasswd"),
                     "docker-registry or htpasswd not installed")
class CliPushUnauthorized(ServerTestCase):
    def test_push_without_credentials_is_rewritten(self):
        d = tempfile.mkdtemp(prefix="oc-e2e-clireg-auth-")
        self.addCleanup(shutil.rmtree, d, True)
        pw = os.path.join(d, "htpasswd")
        subprocess.run(["htpasswd", "-Bbc", pw, "alice", "s3cret"], check=True,
                       capture_output=True)
        pid, port, _ = start_registry({"REGISTRY_AUTH_HTPASSWD_REALM": "test-realm",
                                       "REGISTRY_AUTH_HTPASSWD_PATH": pw},
                                      os.path.join(d, "store"))
        self.addCleanup(subprocess.run,
                        [os.path.join(shared_dir(), "registry", "stop.sh"), str(pid)])
        name = "127.0.0.1:%d/library/stories:latest" % port
        self.server.create_stories(name)
        r = self.server.run_cli("push", "--insecure", name)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.splitlines()[-1],
                         "Error: you are not authorized to push to this namespace, create the "
                         "model under a namespace you own")
        self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main()
