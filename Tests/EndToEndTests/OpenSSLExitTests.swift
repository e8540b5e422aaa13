import Foundation
import TestSupport
import Testing

/// tofu-rpc must not let OpenSSL free its global state as it exits (`OPENSSL_cleanup`, which
/// OpenSSL 3 registers with `atexit` unless told not to): the write lane, which used OpenSSL for
/// a pinCert's PEM, ends as the connection is released just before `exit`, and its thread-exit
/// handlers then race that cleanup, which frees the same handlers and the lock they take without
/// taking it: heap corruption, seen once as `malloc_consolidate(): invalid chunk size` at the end
/// of `make bench`'s fleet run. The race itself is too narrow to meet in a test; what is checked
/// is that the cleanup never runs: a preloaded library of the test's own stands in for
/// `OPENSSL_cleanup` and says so on stderr when it is called. `openssl version`, started the same
/// way, is the control: there the cleanup runs at exit, so the stand-in is seen to work.
@Suite struct OpenSSLExitTests {
    static let marker = "tofu-test: OPENSSL_cleanup called"

    /// The stand-in: says it was called, then runs OpenSSL's own.
    static let standIn = """
        #define _GNU_SOURCE
        #include <dlfcn.h>
        #include <unistd.h>
        void OPENSSL_cleanup(void) {
            static const char said[] = "\\n\(marker)\\n";
            (void)write(2, said, sizeof said - 1);
            void (*original)(void) = (void (*)(void))dlsym(RTLD_NEXT, "OPENSSL_cleanup");
            if (original) original();
        }
        """

    /// The stand-in, built as a shared library in `directory`.
    static func built(in directory: String) async throws -> String {
        let source = directory + "/cleanup_standin.c"
        let library = directory + "/cleanup_standin.so"
        try standIn.write(toFile: source, atomically: true, encoding: .utf8)
        let compiled = try await runProgram("/usr/bin/env", ["cc", "-shared", "-fPIC", "-o", library, source, "-ldl"])
        try #require(compiled.status == 0, "cannot build the stand-in for OPENSSL_cleanup: \(compiled.stderr)")
        return library
    }

    @Test func openSSLStateIsLeftToTheProcessAtExit() async throws {
        let directory = temporaryDirectory("openssl-exit")
        let library = try await Self.built(in: directory)

        let control = try await runProgram("/usr/bin/openssl", ["version"], environment: ["LD_PRELOAD": library])
        #expect(control.status == 0)
        #expect(control.stderr.contains(OpenSSLExitTests.marker), "the stand-in was not called at the control's exit: \(control.stderr)")

        let server = try StoreServer(storePath: directory + "/store.sqlite", environment: ["LD_PRELOAD": library])
        let certificate = try await CertificateFactory.make()
        // The write lane parses the PEM with OpenSSL, then ends with the connection.
        let pinned = try await server.result("pinCert", ["host": "exit-race.example", "pem": certificate.pem])
        #expect(pinned["pinStatus"] as? String == "pinned")
        #expect(try await server.stop() == 0)
        #expect(!server.process.stderr.contains(OpenSSLExitTests.marker), "OpenSSL freed its state at tofu-rpc's exit: \(server.process.stderr)")
    }
}
