"""Hostile and careless connections against the real server (issue 11): slow or silent sockets
must not starve other clients, a client that leaves frees its slot at once, and concurrent
cold loads share one load."""

import json
import resource
import socket
import threading
import time
import unittest

from ollama_e2e import ServerProcess, ServerTestCase


def raw_request(port, body, path="/api/generate"):
    data = json.dumps(body).encode()
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (path, len(data))).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(head + data)
    return s


def closed_by_server(sock, wait):
    """True when the server closes (or resets) `sock` within `wait` seconds."""
    sock.settimeout(wait)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


class SlowClientsTest(ServerTestCase):
    def quick_version(self):
        started = time.time()
        r = self.server.get("/api/version", timeout=10)
        self.assertEqual(r.status, 200)
        return time.time() - started

    def test_slowloris_headers_do_not_starve_and_are_dropped(self):
        socks = []
        for i in range(300):  # more than any fixed worker pool
            s = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
            s.sendall(b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-%d: " % i)
            socks.append(s)
        try:
            for _ in range(5):
                self.assertLess(self.quick_version(), 2.0)
            # Keep trickling header bytes: the header deadline counts from the first byte.
            deadline = time.time() + 14
            alive = list(socks)
            while time.time() < deadline and alive:
                for s in list(alive):
                    try:
                        s.sendall(b"a")
                    except OSError:
                        alive.remove(s)
                time.sleep(1)
            self.assertEqual(alive, [], "%d slow-header sockets still open after 14 s" %
                             len(alive))
            self.assertLess(self.quick_version(), 2.0)
        finally:
            for s in socks:
                s.close()

    def test_silent_connections_do_not_starve(self):
        socks = [socket.create_connection(("127.0.0.1", self.server.port)) for _ in range(300)]
        try:
            for _ in range(5):
                self.assertLess(self.quick_version(), 2.0)
        finally:
            for s in socks:
                s.close()

    def test_connection_cap_evicts_the_oldest_idle_first(self):
        # Past the per-client cap (1024) the oldest idle connection is closed to admit a new
        # one: a flood of idle sockets from one address cannot lock a client out.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 1400:
            self.skipTest("open-file limit %d too low" % hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1400) if hard ==
                                                    resource.RLIM_INFINITY else hard, hard))
        socks = []
        try:
            for i in range(1100):
                s = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
                if i % 3 == 0:
                    s.sendall(b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # partial
                socks.append(s)
                if i % 100 == 0:
                    self.assertLess(self.quick_version(), 2.0)
            for _ in range(20):
                self.assertLess(self.quick_version(), 2.0)
            # The first sockets were the oldest idle ones: the server closed them.
            self.assertTrue(closed_by_server(socks[0], 5), "oldest idle connection kept")
        finally:
            for s in socks:
                s.close()
        self.assertLess(self.quick_version(), 2.0)

    def test_slow_body_is_dropped_below_the_rate_floor(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        s.sendall(b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
        started = time.time()
        dropped = False
        try:
            while time.time() - started < 25:
                s.sendall(b" ")
                time.sleep(2)
        except OSError:
            dropped = True
        if not dropped:
            dropped = closed_by_server(s, 5)
        s.close()
        self.assertTrue(dropped, "a 0.5 B/s body was not dropped")
        self.assertLess(time.time() - started, 25)
        self.assertLess(self.quick_version(), 2.0)

    def test_refused_body_still_gets_its_answer(self):
        # The server stops reading at 64 MiB; the client, still sending, must get the 413
        # rather than a reset.
        body = b'{"model":"x","prompt":"' + b"a" * (80 << 20) + b'"}'
        r = self.server.post("/api/generate", body, headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 413, r)


class AbandonedRequestTest(ServerTestCase):
    server_env = {"OLLAMA_NUM_PARALLEL": "1"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.create_stories("stories")
        r = cls.server.post("/api/generate", {"model": "stories", "prompt": "x", "stream": False,
                                              "options": {"num_predict": 1}})
        assert r.status == 200, r

    def next_request_seconds(self):
        started = time.time()
        r = self.server.post("/api/generate", {"model": "stories", "prompt": "Once",
                                               "stream": False, "options": {"num_predict": 3}},
                             timeout=30)
        self.assertEqual(r.status, 200, r.text)
        return time.time() - started

    def abandon(self, stream, after):
        s = raw_request(self.server.port, {"model": "stories", "prompt": "Once",
                                           "stream": stream,
                                           "options": {"num_predict": 100000}})
        time.sleep(after)
        s.close()

    def test_abandoned_non_streamed_request_frees_the_slot(self):
        self.abandon(False, 0.5)
        self.assertLess(self.next_request_seconds(), 1.5)

    def test_abandoned_streamed_request_frees_the_slot(self):
        self.abandon(True, 0.5)
        self.assertLess(self.next_request_seconds(), 1.5)

    def test_abandoned_compat_streams_free_the_slot(self):
        # The SSE routes (OpenAI chat, Responses, Anthropic Messages) stop generating for a
        # client that left mid-stream, as the native ones do.
        long = 100000
        for path, body in (
                ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Once"}],
                                          "max_tokens": long}),
                ("/v1/responses", {"input": "Once", "max_output_tokens": long}),
                ("/v1/messages", {"messages": [{"role": "user", "content": "Once"}],
                                  "max_tokens": long})):
            for stream in (True, False):
                s = raw_request(self.server.port, dict(body, model="stories", stream=stream),
                                path=path)
                if stream:  # the stream is under way before the client leaves
                    s.settimeout(10)
                    self.assertIn(b"200 OK", s.recv(4096))
                time.sleep(0.3)
                s.close()
                self.assertLess(self.next_request_seconds(), 1.5, (path, stream))

    def test_client_leaving_the_queue_is_not_served(self):
        # One long request holds the only slot; three queued clients leave; the slot must go
        # to the next client as soon as the first one is cancelled.
        holder = raw_request(self.server.port, {"model": "stories", "prompt": "Once",
                                                "stream": False,
                                                "options": {"num_predict": 100000}})
        time.sleep(0.3)
        for _ in range(3):
            self.abandon(False, 0.1)
        holder.close()
        self.assertLess(self.next_request_seconds(), 1.5)


class ColdLoadRaceTest(unittest.TestCase):
    """Concurrent requests on a cold model: one load, and the model still expires."""

    def test_concurrent_cold_loads_share_one_load_and_expire(self):
        server = ServerProcess.start(extra_env={"OLLAMA_NUM_PARALLEL": "4",
                                                "OLLAMA_KEEP_ALIVE": "1s"})
        try:
            server.create_stories("stories")
            for round_ in range(4):
                results = []

                def one():
                    lines = list(server.stream_lines("POST", "/api/generate", {
                        "model": "stories", "prompt": "Once", "options": {"num_predict": 8}},
                        timeout=60))
                    results.append(lines[-1][1].get("done") if lines else None)

                threads = [threading.Thread(target=one) for _ in range(4)]
                [t.start() for t in threads]
                [t.join(60) for t in threads]
                self.assertEqual(results, [True] * 4, "round %d" % round_)
                deadline = time.time() + 10
                while time.time() < deadline:
                    models = server.get("/api/ps").json()["models"]
                    if not models:
                        break
                    time.sleep(0.2)
                self.assertEqual(models, [], "round %d: model never expired" % round_)
            self.assertEqual(server.log().count("loaded model name=stories"), 4,
                             "one load per cold start")
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
