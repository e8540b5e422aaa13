#!/usr/bin/env python3
"""A password prompt on a real pseudo-terminal, interrupted by a signal: does the program
give the terminal its echo back? For tofu's tests (the Swift `tofu` and clients/tofu.sh).

  pty_prompt.py EVENT COMMAND [ARG...]

Plays a job-control shell: COMMAND runs in a process group of its own, in the foreground of a
new pseudo-terminal that is the session's controlling terminal (so /dev/tty is that terminal,
and Ctrl-Z really stops the job: a stop signal is discarded in an orphaned process group).
Once COMMAND has asked "Password for …: " and turned echo off, EVENT happens:

  ctrl-c          \\x03 typed at the terminal (SIGINT to the foreground group)
  ctrl-backslash  \\x1c typed (SIGQUIT)
  sigterm         kill(pid, SIGTERM)
  sighup          kill(pid, SIGHUP)
  ctrl-z          \\x1a typed (SIGTSTP); once stopped, the job is resumed in the foreground
                  (SIGCONT), and the password typed twice ("typed-after-resume")
  ignored-sighup  the job starts with SIGHUP ignored (as under nohup) and is sent SIGHUP: it
                  must go on asking ("outcome": "running"); then SIGTERM ends it

Prints one JSON object on stdout:
  {"prompt": bool, "echoAtPrompt": bool, "outcome": "signal SIGINT" | "exit N" | "stopped" | "timeout",
   "echoAfter": bool, "screen": text, and for ctrl-z: "echoWhileStopped", "echoAfterResume",
   "resumedOutcome", "echoAtEnd"}
echo* fields are the terminal's ECHO flag as termios reads it on the same terminal.
"""
import fcntl, json, os, select, signal, sys, termios, time

DEADLINE = float(os.environ.get("PTY_PROMPT_SECONDS", "60"))


def main():
    event, command = sys.argv[1], sys.argv[2:]
    master, slave = os.openpty()
    shell = os.fork()
    if shell != 0:
        os.close(master)
        os.close(slave)
        _, status = os.waitpid(shell, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
    # The "shell": a session of its own, the pseudo-terminal as its controlling terminal.
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    job = os.fork()
    if job == 0:
        os.setpgid(0, 0)
        os.tcsetpgrp(slave, os.getpid())
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGTSTP, signal.SIGQUIT, signal.SIGHUP,
                       signal.SIGPIPE, signal.SIGTTOU, signal.SIGTTIN, signal.SIGCONT):
            signal.signal(number, signal.SIG_DFL)
        if event == "ignored-sighup":
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(slave)
        os.close(master)
        os.execvp(command[0], command)
    try:
        os.setpgid(job, job)
    except OSError:
        pass
    try:
        os.tcsetpgrp(slave, job)
    except OSError:
        pass
    report = run(event, job, master, slave)
    os.write(1, (json.dumps(report) + "\n").encode())
    os._exit(0)


class Screen:
    def __init__(self, master):
        self.master = master
        self.text = b""

    def pump(self, seconds):
        ready, _, _ = select.select([self.master], [], [], seconds)
        if ready:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:
                chunk = b""
            self.text += chunk


def echo(slave):
    return bool(termios.tcgetattr(slave)[3] & termios.ECHO)


def until(screen, condition, seconds=DEADLINE):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        screen.pump(0.02)
    return condition()


def wait(job, screen, seconds=DEADLINE):
    """The job's outcome: 'exit N', 'signal NAME', 'stopped', or 'timeout'."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pid, status = os.waitpid(job, os.WNOHANG | os.WUNTRACED)
        if pid == job:
            if os.WIFSTOPPED(status):
                return "stopped"
            if os.WIFSIGNALED(status):
                return "signal " + signal.Signals(os.WTERMSIG(status)).name
            return "exit %d" % os.WEXITSTATUS(status)
        screen.pump(0.02)
    return "timeout"


def run(event, job, master, slave):
    screen = Screen(master)
    report = {}
    report["prompt"] = until(screen, lambda: b"Password for " in screen.text)
    report["echoAtPrompt"] = echo(slave) if until(screen, lambda: not echo(slave)) else True
    time.sleep(0.2)
    if event == "ctrl-c":
        os.write(master, b"\x03")
    elif event == "ctrl-backslash":
        os.write(master, b"\x1c")
    elif event == "ctrl-z":
        os.write(master, b"\x1a")
    elif event == "sigterm":
        os.kill(job, signal.SIGTERM)
    elif event in ("sighup", "ignored-sighup"):
        os.kill(job, signal.SIGHUP)
    else:
        raise SystemExit("unknown event " + event)
    if event == "ignored-sighup":
        outcome = wait(job, screen, 1.5)
        report["outcome"] = "running" if outcome == "timeout" else outcome
        report["echoAfter"] = echo(slave)
        if outcome == "timeout":
            os.kill(job, signal.SIGTERM)
            report["resumedOutcome"] = wait(job, screen)
            report["echoAtEnd"] = echo(slave)
        screen.pump(0.1)
        report["screen"] = screen.text.decode("utf-8", "replace")
        return report
    report["outcome"] = wait(job, screen)
    report["echoAfter"] = echo(slave)
    if event == "ctrl-z" and report["outcome"] == "stopped":
        report["echoWhileStopped"] = report["echoAfter"]
        os.tcsetpgrp(slave, job)
        os.killpg(job, signal.SIGCONT)
        asked = screen.text.count(b"Password for ")
        report["echoAfterResume"] = not until(screen, lambda: not echo(slave))
        until(screen, lambda: screen.text.count(b"Password for ") > asked)
        time.sleep(0.2)
        os.write(master, b"typed-after-resume\n")
        until(screen, lambda: b"Confirm password: " in screen.text)
        until(screen, lambda: not echo(slave))
        time.sleep(0.2)
        os.write(master, b"typed-after-resume\n")
        report["resumedOutcome"] = wait(job, screen)
        report["echoAtEnd"] = echo(slave)
    screen.pump(0.1)
    report["screen"] = screen.text.decode("utf-8", "replace")
    if report["outcome"] == "timeout" or report.get("resumedOutcome") == "timeout":
        os.kill(job, signal.SIGKILL)
    return report


if __name__ == "__main__":
    main()
