#if canImport(Glibc)
    import Glibc
#endif

/// Reading a password without it ever being an argument: argv is visible to every user of
/// the machine (`ps`, /proc/PID/cmdline).
enum Password {
    /// One line from stdin (`--password-stdin`), without its line ending.
    static func fromStandardInput() throws(CLIFailure) -> String {
        guard let line = readLine(strippingNewline: true) else {
            throw CLIFailure(.usage, "--password-stdin: standard input ended before a password line")
        }
        return line.hasSuffix("\r") ? String(line.dropLast()) : line
    }

    /// Asked twice on the terminal with echo off, as PI's form asks for a confirmation.
    static func prompt() throws(CLIFailure) -> (password: String, confirmation: String) {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard tty >= 0 else {
            throw CLIFailure(.usage, "no terminal to ask the password on; pipe it with --password-stdin")
        }
        defer { close(tty) }
        let password = try ask("Password: ", on: tty)
        let confirmation = try ask("Confirm password: ", on: tty)
        return (password, confirmation)
    }

    private static func ask(_ prompt: String, on tty: Int32) throws(CLIFailure) -> String {
        _ = prompt.withCString { write(tty, $0, strlen($0)) }
        var saved = termios()
        let hasTerminal = tcgetattr(tty, &saved) == 0
        if hasTerminal {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(tty, TCSANOW, &quiet)
        }
        defer {
            if hasTerminal { tcsetattr(tty, TCSANOW, &saved) }
            _ = write(tty, "\n", 1)
        }
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while read(tty, &byte, 1) == 1 && byte != UInt8(ascii: "\n") {
            bytes.append(byte)
            guard bytes.count <= 4096 else { throw CLIFailure(.usage, "the password is too long") }
        }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }
}
