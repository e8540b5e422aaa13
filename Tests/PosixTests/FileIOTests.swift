import Posix
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// FileIO over real pipes and a real child process. The signal tests interrupt a thread
/// blocked in the call (SIGUSR2 without SA_RESTART): they are serialized so that each counts
/// only its own signals.
@Suite(.serialized) struct FileIOTests {
    /// 1 MiB through a pipe that holds 64 KiB, with the writer interrupted twice while the pipe
    /// is full: once with 64 KiB written (write(2) returns short), once with nothing written
    /// yet (EINTR). Every byte arrives, in order.
    @Test func writeAllGoesOnAfterAShortWriteAndAnInterruptedOne() async throws {
        let pipe = try TestPipe()
        defer { close(pipe.read) }
        let bytes = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let writer = BlockedCall { () -> Result<Void, Errno> in
            defer { close(pipe.write) }
            return Result { () throws(Errno) in try FileIO.writeAll(pipe.write, bytes) }
        }
        try await eventually { pipe.buffered == pipe.capacity }
        #expect(pipe.buffered == pipe.capacity && pipe.capacity < bytes.count)
        try await writer.interrupt()
        try await writer.interrupt()
        let reader = BlockedCall { Result { () throws(Errno) in try FileIO.readToEnd(pipe.read) } }
        let written = try await writer.value()
        #expect((try? written.get()) != nil, "\(written)")
        let read = try await reader.value()
        let received = try read.get()
        #expect(received.count == bytes.count)
        #expect(received.elementsEqual(bytes), "the bytes differ")
    }

    @Test func readingPastTheEndGivesZero() throws {
        let pipe = try TestPipe()
        defer { close(pipe.read) }
        try FileIO.writeAll(pipe.write, "abc")
        close(pipe.write)
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(try FileIO.read(pipe.read, into: &buffer) == 3)
        #expect(buffer.prefix(3) == Array("abc".utf8)[...])
        #expect(try FileIO.read(pipe.read, into: &buffer) == 0)
        #expect(try FileIO.read(pipe.read, into: &buffer) == 0)
    }

    /// 200 KiB written in pieces by another thread arrive whole, over many reads; with a limit,
    /// only that many bytes are read and the rest stays in the pipe.
    @Test func readToEndReadsEveryPieceAndStopsAtItsLimit() async throws {
        let bytes = (0..<(200 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        for limit in [Int.max, 70_000] {
            let pipe = try TestPipe()
            defer { close(pipe.read) }
            let writer = BlockedCall { () -> Result<Void, Errno> in
                defer { close(pipe.write) }
                return Result { () throws(Errno) in
                    for start in stride(from: 0, to: bytes.count, by: 10_000) {
                        try FileIO.writeAll(pipe.write, Array(bytes[start..<min(start + 10_000, bytes.count)]))
                    }
                }
            }
            // Off the cooperative pool: the reads wait for the writer.
            let reader = BlockedCall { () -> Result<(first: [UInt8], rest: [UInt8]), Errno> in
                Result { () throws(Errno) in (try FileIO.readToEnd(pipe.read, atMost: limit), try FileIO.readToEnd(pipe.read)) }
            }
            let (first, rest) = try await reader.value().get()
            #expect(first.count == min(limit, bytes.count))
            #expect(first.elementsEqual(bytes.prefix(limit)), "the bytes differ")
            #expect(rest.count == bytes.count - first.count)
            #expect((try? await writer.value().get()) != nil)
        }
    }

    /// A pipe nobody reads is EPIPE, thrown as an `Errno` with the system's words (the
    /// process ignores SIGPIPE, as tofu-rpc does).
    @Test func writingToAClosedPipeIsEPIPE() throws {
        signal(SIGPIPE, SIG_IGN)
        let pipe = try TestPipe()
        defer { close(pipe.write) }
        close(pipe.read)
        #expect(throws: Errno(EPIPE)) { try FileIO.writeAll(pipe.write, [1, 2, 3]) }
        do {
            try FileIO.writeAll(pipe.write, "x")
            Issue.record("a write to a closed pipe succeeded")
        } catch {
            #expect(error.code == EPIPE)
            #expect("\(error)" == "Broken pipe")
        }
    }

    @Test func readingABadDescriptorIsEBADF() throws {
        var buffer = [UInt8](repeating: 0, count: 1)
        #expect(throws: Errno(EBADF)) { try FileIO.read(-1, into: &buffer) }
    }

    /// Nothing to read: poll says 0 once the time is up, not before; something to read: 1 at once.
    @Test func pollWaitsForItsTimeout() throws {
        let pipe = try TestPipe()
        defer {
            close(pipe.read)
            close(pipe.write)
        }
        var watched = [pollfd(fd: pipe.read, events: Int16(POLLIN), revents: 0)]
        let start = ContinuousClock.now
        #expect(try FileIO.poll(&watched, milliseconds: 100) == 0)
        #expect(ContinuousClock.now - start >= .milliseconds(100))
        try FileIO.writeAll(pipe.write, "x")
        #expect(try FileIO.poll(&watched, milliseconds: 10_000) == 1)
        #expect(watched[0].revents & Int16(POLLIN) != 0)
    }

    @Test func waitForExitGivesTheChildsStatus() throws {
        let pid = try Self.spawn("exit 3")
        let status = try FileIO.waitForExit(of: pid)
        #expect(status & 0x7f == 0, "ended by signal \(status & 0x7f)")
        #expect((status >> 8) & 0xff == 3)
        #expect(throws: Errno(ECHILD)) { try FileIO.waitForExit(of: pid) }
    }

    // MARK: - Interrupted calls are resumed

    /// A read, or a poll without a timeout, on an empty pipe: interrupted three times, it returns
    /// once there is something to read, as if nothing had happened.
    @Test(arguments: ["read", "poll"]) func anInterruptedWaitForInputIsResumed(call: String) async throws {
        let pipe = try TestPipe()
        defer {
            close(pipe.read)
            close(pipe.write)
        }
        let blocked = BlockedCall { () -> Result<Int, Errno> in
            Result { () throws(Errno) in
                if call == "read" {
                    var buffer = [UInt8](repeating: 0, count: 16)
                    return try FileIO.read(pipe.read, into: &buffer)
                }
                var watched = [pollfd(fd: pipe.read, events: Int16(POLLIN), revents: 0)]
                return try FileIO.poll(&watched, milliseconds: -1)
            }
        }
        for _ in 0..<3 { try await blocked.interrupt() }
        try FileIO.writeAll(pipe.write, "x")
        // One byte read, or one descriptor ready.
        #expect(try await blocked.value() == .success(1))
    }

    /// An interrupted poll with a timeout still waits the whole time before it says 0.
    @Test func anInterruptedPollKeepsItsTimeout() async throws {
        let pipe = try TestPipe()
        defer {
            close(pipe.read)
            close(pipe.write)
        }
        let call = BlockedCall { () -> Result<Duration, Errno> in
            var watched = [pollfd(fd: pipe.read, events: Int16(POLLIN), revents: 0)]
            let start = ContinuousClock.now
            return Result { () throws(Errno) in
                let ready = try FileIO.poll(&watched, milliseconds: 500)
                return ready == 0 ? ContinuousClock.now - start : .zero
            }
        }
        for _ in 0..<2 { try await call.interrupt() }
        let waited = try await call.value().get()
        #expect(waited >= .milliseconds(500))
    }

    /// A write into a full pipe, interrupted before it wrote anything, is resumed.
    @Test func anInterruptedWriteIsResumed() async throws {
        let pipe = try TestPipe()
        defer { close(pipe.read) }
        let flags = fcntl(pipe.write, F_GETFL)
        _ = fcntl(pipe.write, F_SETFL, flags | O_NONBLOCK)
        var filled = 0
        let page = [UInt8](repeating: 1, count: 4096)
        while true {
            let written = page.withUnsafeBytes { write(pipe.write, $0.baseAddress, $0.count) }
            guard written > 0 else { break }
            filled += written
        }
        _ = fcntl(pipe.write, F_SETFL, flags)
        let call = BlockedCall { () -> Result<Void, Errno> in
            defer { close(pipe.write) }
            return Result { () throws(Errno) in try FileIO.writeAll(pipe.write, [UInt8](repeating: 2, count: 1000)) }
        }
        for _ in 0..<3 { try await call.interrupt() }
        let reader = BlockedCall { Result { () throws(Errno) in try FileIO.readToEnd(pipe.read) } }
        let received = try await reader.value().get()
        #expect((try? await call.value().get()) != nil)
        #expect(received.count == filled + 1000)
        #expect(received.suffix(1000).allSatisfy { $0 == 2 })
    }

    @Test func anInterruptedWaitForExitIsResumed() async throws {
        let stdin = try TestPipe()
        defer { close(stdin.read) }
        let pid = try Self.spawn("read line; exit 3", stdin: stdin.read)
        let call = BlockedCall { () -> Result<Int32, Errno> in Result { () throws(Errno) in try FileIO.waitForExit(of: pid) } }
        for _ in 0..<3 { try await call.interrupt() }
        close(stdin.write)
        let status = try await call.value().get()
        #expect((status >> 8) & 0xff == 3)
    }

    /// Starts /bin/sh -c `script`, its stdin from `stdin` if given.
    static func spawn(_ script: String, stdin: Int32? = nil) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin { posix_spawn_file_actions_adddup2(&actions, stdin, 0) }
        var argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(script), nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, "/bin/sh", &actions, nil, &argv, environ)
        try #require(status == 0, "posix_spawn: \(Errno(status))")
        return pid
    }
}
