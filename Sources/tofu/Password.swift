import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// Reading a password without it ever being an argument: argv is visible to every user of
/// the machine (`ps`, /proc/PID/cmdline).
///
/// The bytes are read straight into a `SecretBuffer`, which is wiped when done; no stdio
/// buffer holds them. The password is then a Swift `String` until the request is sent. A
/// String cannot be wiped reliably (Swift copies its storage as it likes and frees it without
/// clearing), so it is made as late as possible and dropped once the request is written; the
/// request bytes themselves are wiped (RPCClient). What freed memory still holds never reaches
/// the disk: core dumps are off (ProcessHardening).
enum Password {
    /// The longest password accepted, in bytes (a line of the terminal holds 4095).
    static let maximumBytes = 4096

    /// One line from stdin (`--password-stdin`), without its line ending.
    static func fromStandardInput() throws(CLIFailure) -> String {
        var buffer = SecretBuffer(capacity: maximumBytes + 2)  // and its "\r\n"
        // One byte at a time: whatever follows the line stays unread.
        while true {
            switch buffer.readByte(from: STDIN_FILENO) {
            case .byte(UInt8(ascii: "\n")):
                buffer.removeLast()
                return buffer.text(droppingCarriageReturn: true)
            case .byte:
                guard !buffer.isFull else {
                    throw CLIFailure(.usage, "The password line on standard input is longer than \(maximumBytes) bytes.")
                }
            case .end:
                guard !buffer.isEmpty else {
                    throw CLIFailure(.usage, "Standard input ended before a password line (--password-stdin).")
                }
                return buffer.text(droppingCarriageReturn: true)
            case .failure(let error):
                throw CLIFailure(.usage, "Cannot read the password from standard input: \(error).")
            }
        }
    }

    /// Tries at typing the password and its confirmation alike before the CLI gives up.
    static let tries = 3

    /// Asked twice on the terminal with echo off, as PI's form asks for a confirmation;
    /// `who` (the user and the controller) is named in the prompt. A confirmation that differs
    /// asks both again, `tries` times in all.
    static func prompt(for who: String) throws(CLIFailure) -> (password: String, confirmation: String) {
        let terminal = try QuietTerminal()
        for attempt in 1...tries {
            let password = try terminal.ask("Password for \(who): ")
            let confirmation = try terminal.ask("Confirm password: ")
            if password == confirmation { return (password, confirmation) }
            if attempt < tries { terminal.say("The passwords do not match; type them again (try \(attempt + 1) of \(tries)).\n") }
        }
        throw CLIFailure(.usage, "The passwords did not match three times; nothing was sent.")
    }
}

/// Bytes of a secret in memory of the CLI's own, of a fixed capacity (never moved by growing),
/// wiped with `explicit_bzero` when it goes away.
struct SecretBuffer: ~Copyable {
    private let storage: UnsafeMutableBufferPointer<UInt8>
    private(set) var count = 0

    init(capacity: Int) {
        storage = .allocate(capacity: max(1, capacity))
        storage.initialize(repeating: 0)
    }

    deinit {
        if let base = storage.baseAddress { explicit_bzero(base, storage.count) }
        storage.deallocate()
    }

    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count == storage.count }

    enum ReadResult: Equatable {
        case byte(UInt8)
        case end
        case failure(Errno)
    }

    /// Reads one byte from `descriptor` into the buffer (it must not be full).
    mutating func readByte(from descriptor: Int32) -> ReadResult {
        guard count < storage.count, let base = storage.baseAddress else { return .failure(Errno(ENOBUFS)) }
        do {
            guard try FileIO.read(descriptor, into: UnsafeMutableRawBufferPointer(start: base + count, count: 1)) == 1 else { return .end }
        } catch {
            return .failure(error)
        }
        count += 1
        return .byte(base[count - 1])
    }

    mutating func removeLast() {
        guard count > 0 else { return }
        count -= 1
        storage[count] = 0
    }

    /// The bytes as text (UTF-8, invalid sequences replaced): a copy that cannot be wiped.
    func text(droppingCarriageReturn: Bool) -> String {
        var end = count
        if droppingCarriageReturn && end > 0 && storage[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: storage[..<end]), as: UTF8.self)
    }
}
