"""Drives an `ollama` command through a pseudo-terminal (Python standard library only):
spawn with a fixed window size, send keystrokes, read until a pattern appears."""

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def strip_ansi(text):
    """Text without escape sequences and carriage returns."""
    return ANSI.sub("", text).replace("\r", "")


class PtyProcess:
    """A child whose stdin, stdout and stderr are one terminal."""

    def __init__(self, argv, env, cols=200, rows=50):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = dict(env)
        env.setdefault("TERM", "xterm-256color")
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, preexec_fn=self._set_ctty)
        os.close(slave)
        self.buffer = ""  # everything read so far, raw

    @staticmethod
    def _set_ctty():
        # In the child after setsid(): the terminal (now fd 0) becomes the controlling one, so
        # Ctrl-C typed on it raises SIGINT in the child.
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    def send(self, text):
        os.write(self.master, text.encode("utf-8"))

    def _read_some(self, timeout):
        r, _, _ = select.select([self.master], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return None
        if not data:
            return None
        self.buffer += data.decode("utf-8", errors="replace")
        return True

    def read_until(self, pattern, timeout=60.0, start=None):
        """Reads until `pattern` (a regex, matched on the ANSI-stripped text after position
        `start` of the raw buffer) appears; returns that stripped text. Raises on timeout/EOF."""
        start = len(self.buffer) if start is None else start
        deadline = time.time() + timeout
        rx = re.compile(pattern)
        while True:
            text = strip_ansi(self.buffer[start:])
            if rx.search(text):
                return text
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("timed out waiting for %r; got:\n%s" % (pattern, text))
            got = self._read_some(min(left, 0.5))
            if got is None:
                text = strip_ansi(self.buffer[start:])
                if rx.search(text):
                    return text
                raise AssertionError("terminal closed waiting for %r; got:\n%s" % (pattern, text))

    def mark(self):
        """Position to pass as `start` to read only what comes next."""
        return len(self.buffer)

    def drain(self, seconds=0.2):
        end = time.time() + seconds
        while time.time() < end:
            if self._read_some(max(0.0, end - time.time())) is None:
                break

    def wait(self, timeout=30.0):
        """Waits for exit, reading output meanwhile; returns the exit status."""
        deadline = time.time() + timeout
        while self.proc.poll() is None and time.time() < deadline:
            if self._read_some(0.1) is None:
                break
        return self.proc.wait(timeout=max(0.1, deadline - time.time()))

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        try:
            os.close(self.master)
        except OSError:
            pass
