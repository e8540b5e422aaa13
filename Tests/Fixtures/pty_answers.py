#!/usr/bin/env python3
"""Answers a program's password prompts on a real pseudo-terminal, then reports what the
terminal showed. For tofu's tests (the Swift `tofu` and clients/tofu.sh).

  pty_answers.py ANSWERS_JSON COMMAND [ARG...]

COMMAND runs in a session of its own with a new pseudo-terminal as its controlling terminal
(so /dev/tty is that terminal) and as its stdin, stdout and stderr. ANSWERS_JSON is a list of
lines: the Nth is typed once the terminal shows the Nth prompt ("Password for …: " or
"Confirm password: ") and the program has turned echo off. Then the program runs to its end.

Prints one JSON object on stdout:
  {"status": N | null, "signal": NAME | null, "screen": text, "answered": count}
"""
import fcntl, json, os, re, select, signal, sys, termios, time

DEADLINE = float(os.environ.get("PTY_ANSWERS_SECONDS", "60"))
PROMPT = re.compile(rb"(?:Password for [^\r\n]*|Confirm password): ")


def echo(slave):
    return bool(termios.tcgetattr(slave)[3] & termios.ECHO)


def main():
    answers, command = json.loads(sys.argv[1]), sys.argv[2:]
    master, slave = os.openpty()
    child = os.fork()
    if child == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(slave)
        os.close(master)
        os.execvp(command[0], command)
    screen = b""
    ended = None
    answered = 0
    deadline = time.monotonic() + DEADLINE

    def pump(seconds):
        nonlocal screen
        ready, _, _ = select.select([master], [], [], seconds)
        if ready:
            try:
                screen += os.read(master, 4096)
            except OSError:
                pass

    def finished():
        nonlocal ended
        if ended is None:
            pid, status = os.waitpid(child, os.WNOHANG)
            if pid == child:
                ended = status
        return ended is not None

    def until(condition):
        while time.monotonic() < deadline:
            if condition():
                return True
            pump(0.02)
        return condition()

    for line in answers:
        shown = answered + 1
        if not until(lambda: finished() or (len(PROMPT.findall(screen)) >= shown and not echo(slave))) or finished():
            break
        os.write(master, line.encode() + b"\n")
        answered += 1
    until(finished)
    if ended is None:
        os.kill(child, signal.SIGKILL)
        _, ended = os.waitpid(child, 0)
    # What the program wrote last is still in the terminal's buffer.
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        screen += chunk
    report = {
        "status": os.WEXITSTATUS(ended) if os.WIFEXITED(ended) else None,
        "signal": signal.Signals(os.WTERMSIG(ended)).name if os.WIFSIGNALED(ended) else None,
        "screen": screen.decode("utf-8", "replace"),
        "answered": answered,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
