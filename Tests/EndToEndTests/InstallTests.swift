import Foundation
import TestSupport
import Testing

/// `make install PREFIX=…` puts exactly the binaries, the man pages tofu(1) and tofu-rpc(1)
/// (read by `man -l` without a warning) and the bash, zsh and fish completions in place, and
/// `make uninstall` takes exactly those away again. The binaries are the debug build
/// (INSTALL_FROM), so the test builds nothing.
@Suite struct InstallTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let binaries = URL(fileURLWithPath: productPath("tofu")).deletingLastPathComponent().path

    static let expected: Set<String> = [
        "bin/tofu", "bin/tofu-rpc", "share/man/man1/tofu.1", "share/man/man1/tofu-rpc.1",
        "share/bash-completion/completions/tofu", "share/bash-completion/completions/tofu-rpc",
        "share/zsh/site-functions/_tofu", "share/zsh/site-functions/_tofu-rpc",
        "share/fish/vendor_completions.d/tofu.fish", "share/fish/vendor_completions.d/tofu-rpc.fish",
    ]

    /// Every file and directory under `prefix`, relative to it.
    static func tree(_ prefix: String) -> (files: Set<String>, directories: Set<String>) {
        var files: Set<String> = [], directories: Set<String> = []
        let enumerator = FileManager.default.enumerator(atPath: prefix)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: prefix + "/" + path, isDirectory: &isDirectory)
            if isDirectory.boolValue { directories.insert(path) } else { files.insert(path) }
        }
        return (files, directories)
    }

    static func make(_ target: String, prefix: String) async throws -> CommandResult {
        try await runProgram(
            "/usr/bin/make", ["-C", root, "--no-print-directory", target, "PREFIX=" + prefix, "INSTALL_FROM=" + binaries], timeout: .seconds(120))
    }

    /// What `man -l` renders, with groff's warnings on.
    static func man(_ page: String) async throws -> CommandResult {
        try await runProgram("/usr/bin/man", ["--warnings", "-l", page], environment: ["MANPAGER": "cat", "PAGER": "cat", "MANWIDTH": "100", "LC_ALL": "C.UTF-8"])
    }

    @Test func installPutsEveryFileInPlaceAndUninstallTakesExactlyThoseAway() async throws {
        let prefix = temporaryDirectory("tofu-prefix")
        let installed = try await Self.make("install", prefix: prefix)
        #expect(installed.status == 0, "\(installed.stdout)\(installed.stderr)")
        #expect(Self.tree(prefix).files == Self.expected)

        // The binaries run, and tofu finds its tofu-rpc beside it.
        for program in ["tofu", "tofu-rpc"] {
            #expect(FileManager.default.isExecutableFile(atPath: prefix + "/bin/" + program))
        }
        let store = newStorePath("tofu-installed")
        let listed = try await runProgram(prefix + "/bin/tofu", ["listcerts", "--store", store], environment: ["TOFU_RPC": ""])
        #expect(listed.status == 0 && listed.stderr == "(no pins)\n", "\(listed.stderr)")

        // The man pages: each command and method named, groff silent.
        let tofu = try await Self.man(prefix + "/share/man/man1/tofu.1")
        #expect(tofu.status == 0 && tofu.stderr.isEmpty, "\(tofu.stderr)")
        for words in ["NAME", "tofu - Trust-On-First-Use certificate pins", "SYNOPSIS", "COMMANDS", "tofu listcerts", "tofu deletecert", "tofu add-dnac-server",
                      "tofu history", "--prune-before", "tofu backup", "tofu certvalidation tofu-certs listcerts", "--expiring-within days", "Exit status: 0 success", "tofu-rpc(1)"] {
            #expect(tofu.stdout.contains(words), "tofu(1) lacks '\(words)'")
        }
        let rpc = try await Self.man(prefix + "/share/man/man1/tofu-rpc.1")
        #expect(rpc.status == 0 && rpc.stderr.isEmpty, "\(rpc.stderr)")
        for words in ["tofu-rpc - Serve the tofu certificate pin store", "OPTIONS", "--max-in-flight", "PROTOCOL", "Content-Length", "Lifecycle",
                      "Error codes", "-32005", "METHODS", "listCerts", "pruneHistory", "backupStore", "ENVIRONMENT", "TOFU_LOG_LEVEL", "tofu(1)"] {
            #expect(rpc.stdout.contains(words), "tofu-rpc(1) lacks '\(words)'")
        }

        // The completions: bash registers them, zsh and fish files are theirs.
        let bash = try await runProgram("/bin/bash", ["-c", "source \"$1\" && complete -p tofu", "bash", prefix + "/share/bash-completion/completions/tofu"])
        #expect(bash.status == 0 && bash.stdout.contains(" tofu\n"), "\(bash.stdout)\(bash.stderr)")
        let bashText = try String(contentsOfFile: prefix + "/share/bash-completion/completions/tofu", encoding: .utf8)
        #expect(["listcerts", "deletecert", "verifycert", "history", "backup"].allSatisfy { bashText.contains($0) })
        #expect(try String(contentsOfFile: prefix + "/share/zsh/site-functions/_tofu", encoding: .utf8).hasPrefix("#compdef tofu"))
        #expect(try String(contentsOfFile: prefix + "/share/fish/vendor_completions.d/tofu.fish", encoding: .utf8).contains("complete -c 'tofu'"))
        #expect(try String(contentsOfFile: prefix + "/share/zsh/site-functions/_tofu-rpc", encoding: .utf8).hasPrefix("#compdef tofu-rpc"))

        // Uninstall: exactly those files, and the directories they leave empty.
        let removed = try await Self.make("uninstall", prefix: prefix)
        #expect(removed.status == 0, "\(removed.stderr)")
        let after = Self.tree(prefix)
        #expect(after.files.isEmpty && after.directories.isEmpty, "left behind: \(after)")
        #expect(FileManager.default.fileExists(atPath: prefix), "the prefix itself was removed")
    }

    /// Into a prefix that holds other things: uninstall removes only what install put there.
    @Test func uninstallLeavesWhatIsNotTofus() async throws {
        let prefix = temporaryDirectory("tofu-prefix-shared")
        let others = ["bin/other-tool", "share/man/man1/other.1", "share/bash-completion/completions/other"]
        for other in others {
            try FileManager.default.createDirectory(atPath: prefix + "/" + (other as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data("not tofu's\n".utf8).write(to: URL(fileURLWithPath: prefix + "/" + other))
        }
        #expect(try await Self.make("install", prefix: prefix).status == 0)
        #expect(Self.tree(prefix).files == Self.expected.union(others))
        #expect(try await Self.make("uninstall", prefix: prefix).status == 0)
        let after = Self.tree(prefix)
        #expect(after.files == Set(others))
        #expect(after.directories == ["bin", "share", "share/man", "share/man/man1", "share/bash-completion", "share/bash-completion/completions"], "\(after.directories)")
    }
}
