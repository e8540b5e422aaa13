import CProcessControl
import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// The terminal a password is typed at: echo off while it is typed, and given back as it was
/// whatever ends the prompt: the answer, an error, or a signal.
///
/// Ctrl-C, Ctrl-\, Ctrl-Z, `kill` and a hang-up (SIGINT, SIGQUIT, SIGTSTP, SIGTERM, SIGHUP) would
/// otherwise end or stop the process with echo still off, leaving the operator a shell that
/// shows nothing typed. While the prompt is up those signals are blocked and read from a
/// signalfd, so they are handled in ordinary code rather than in a signal handler: the terminal
/// is restored first, then the signal takes its default action. The process ends by that
/// signal, as its parent expects; after SIGTSTP it stops, and once continued echo goes off
/// again and the question is asked again. A signal the CLI was started with ignored stays
/// ignored. The CLI is single-threaded while it asks (tofu-rpc is started after), so blocking
/// the signals in this thread holds them for the whole process.
struct QuietTerminal: ~Copyable {
    private static let signals = [SIGINT, SIGQUIT, SIGTSTP, SIGTERM, SIGHUP]

    private let tty: Int32
    /// The settings to give back; nil when `tty` is not a terminal that tcgetattr can read.
    private let saved: termios?
    private let signalDescriptor: Int32
    private let previousMask: sigset_t

    /// Opens the process's terminal (/dev/tty, whatever stdin and stdout are).
    init() throws(CLIFailure) {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else {
            throw CLIFailure(.usage, "There is no terminal to ask the password on; pipe it with --password-stdin.")
        }
        var settings = termios()
        let readable = tcgetattr(tty, &settings) == 0
        var set = sigset_t()
        sigemptyset(&set)
        // A blocked signal is queued even when ignored: leave ignored ones (nohup) alone.
        for signal in Self.signals where !Self.isIgnored(signal) { sigaddset(&set, signal) }
        var previous = sigset_t()
        let blocked = pthread_sigmask(SIG_BLOCK, &set, &previous)
        guard blocked == 0 else {
            close(tty)
            throw CLIFailure(.failure, "Cannot hold signals while asking for the password: \(Errno(blocked)).")
        }
        let descriptor = signalfd(-1, &set, Int32(SFD_CLOEXEC))
        guard descriptor >= 0 else {
            let error = Errno.current
            _ = pthread_sigmask(SIG_SETMASK, &previous, nil)
            close(tty)
            throw CLIFailure(.failure, "Cannot watch signals while asking for the password: \(error).")
        }
        self.tty = tty
        saved = readable ? settings : nil
        signalDescriptor = descriptor
        previousMask = previous
    }

    deinit {
        restore()
        close(tty)
        close(signalDescriptor)
        // A signal still pending is delivered now, with the terminal already given back.
        var previous = previousMask
        _ = pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    /// Asks `prompt` and reads one line with echo off; the line without its ending.
    func ask(_ prompt: String) throws(CLIFailure) -> String {
        var buffer = SecretBuffer(capacity: Password.maximumBytes + 2)
        try quiet(prompt)
        defer {
            restore()
            say("\n")
        }
        var watched = [
            pollfd(fd: tty, events: Int16(POLLIN), revents: 0), pollfd(fd: signalDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        while true {
            do {
                _ = try FileIO.poll(&watched, milliseconds: -1)
            } catch {
                throw CLIFailure(.failure, "Cannot wait for the password: \(error).")
            }
            if watched[1].revents != 0, let signal = takeSignal() {
                restore()
                say("\n")
                Self.takeDefaultAction(signal)
                // Continued after a stop: ask again, as the shell has written over the prompt.
                try quiet(prompt)
                continue
            }
            guard watched[0].revents != 0 else { continue }
            switch buffer.readByte(from: tty) {
            case .byte(UInt8(ascii: "\n")):
                buffer.removeLast()
                return buffer.text(droppingCarriageReturn: true)
            case .byte:
                guard !buffer.isFull else { throw CLIFailure(.usage, "The password is longer than \(Password.maximumBytes) bytes.") }
            case .end, .failure:
                return buffer.text(droppingCarriageReturn: true)
            }
        }
    }

    /// Writes `text` on the terminal (not on stderr, which may be redirected).
    func say(_ text: String) {
        _ = try? FileIO.writeAll(tty, text)
    }

    /// Writes the prompt and turns echo off.
    private func quiet(_ prompt: String) throws(CLIFailure) {
        say(prompt)
        guard var settings = saved else { return }
        settings.c_lflag &= ~tcflag_t(ECHO)
        do {
            _ = try FileIO.retryingInterrupted { tcsetattr(tty, TCSANOW, &settings) }
        } catch {
            say("\n")
            throw CLIFailure(.failure, "Cannot turn off echo on the terminal (\(error)); pipe the password with --password-stdin.")
        }
    }

    /// Gives the terminal its settings back. If that fails there is nothing left to try.
    private func restore() {
        guard var settings = saved else { return }
        _ = try? FileIO.retryingInterrupted { tcsetattr(tty, TCSANOW, &settings) }
    }

    /// The number of a signal that arrived, if one did.
    private func takeSignal() -> Int32? {
        var info = signalfd_siginfo()
        let count = withUnsafeMutableBytes(of: &info) { try? FileIO.read(signalDescriptor, into: $0) }
        return count == MemoryLayout<signalfd_siginfo>.size ? Int32(bitPattern: info.ssi_signo) : nil
    }

    private static func isIgnored(_ signal: Int32) -> Bool {
        var current = sigaction()
        guard sigaction(signal, nil, &current) == 0 else { return false }
        return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
    }

    /// Lets `signal` do what it does by default, now: end the process, or stop it (this
    /// returns once the process is continued, or at once if the stop is discarded, as for an
    /// orphaned process group).
    private static func takeDefaultAction(_ signal: Int32) {
        var only = sigset_t()
        sigemptyset(&only)
        sigaddset(&only, signal)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = SIG_DFL
        sigemptyset(&action.sa_mask)
        var previous = sigaction()
        _ = sigaction(signal, &action, &previous)
        _ = pthread_sigmask(SIG_UNBLOCK, &only, nil)
        raise(signal)
        _ = pthread_sigmask(SIG_BLOCK, &only, nil)
        _ = sigaction(signal, &previous, nil)
        if signal != SIGTSTP {
            // Still here after a signal whose default is to end the process: end it as that would.
            exit(128 + signal)
        }
    }
}
