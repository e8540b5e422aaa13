import Foundation
import Posix

/// A headless Neovim running a Lua test script of Tests/Fixtures/nvim with the plugin of
/// clients/nvim (a copy of it, so that `:helptags` writes nowhere in the source tree), stopped
/// at each step of the script: the script reports what it sees and waits; the test checks it
/// (and the store) and lets it go on. See Tests/Fixtures/nvim/harness.lua.
public final class NeovimSession: Sendable {
    /// The test's directory: the steps, params.json, Neovim's XDG directories, its shada file.
    public let directory: String
    /// The copy of clients/nvim on Neovim's 'runtimepath'.
    public let pluginDirectory: String
    private let process: ChildProcess
    private let output: TextCollector
    private let errors: TextCollector
    private let steps = Locked(0)

    public static let fixtures: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/nvim").path
    }()

    public static let plugin: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("clients/nvim").path
    }()

    /// `$TOFU_TEST_NVIM` (another Neovim to run the tests in), else the `nvim` on PATH; an error
    /// saying how to get one when there is none.
    public static func executable() throws -> String {
        if let chosen = ProcessInfo.processInfo.environment["TOFU_TEST_NVIM"], !chosen.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: chosen) else { throw FactoryError(message: "TOFU_TEST_NVIM=\(chosen) is not an executable") }
            return chosen
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/nvim"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw FactoryError(message: "nvim is not installed: `make test` installs Debian's neovim; or apt-get install neovim")
    }

    /// Starts `nvim --headless` running `script` (a file of Tests/Fixtures/nvim) with `params`
    /// (read by the script as H.params) and `environment` added to the test's.
    public init(script: String, params: [String: Any], environment: [String: String] = [:]) throws {
        let nvim = try Self.executable()
        directory = temporaryDirectory("tofu-nvim")
        pluginDirectory = directory + "/tofu.nvim"
        try FileManager.default.copyItem(atPath: Self.plugin, toPath: pluginDirectory)
        try? FileManager.default.removeItem(atPath: pluginDirectory + "/doc/tags")
        try Data(Wire.json(params).utf8).write(to: URL(fileURLWithPath: directory + "/params.json"))
        for name in ["config", "data", "state", "cache"] {
            try FileManager.default.createDirectory(atPath: "\(directory)/xdg-\(name)", withIntermediateDirectories: true)
        }

        var env = ProcessInfo.processInfo.environment
        env["TOFU_NVIM_TEST_DIR"] = directory
        env["XDG_CONFIG_HOME"] = directory + "/xdg-config"
        env["XDG_DATA_HOME"] = directory + "/xdg-data"
        env["XDG_STATE_HOME"] = directory + "/xdg-state"
        env["XDG_CACHE_HOME"] = directory + "/xdg-cache"
        env["TOFU_RPC"] = nil
        env["TOFU_STORE"] = nil
        env.merge(environment) { _, new in new }
        let arguments = [
            "--headless", "--clean", "-i", directory + "/shada", "--cmd", "set rtp^=" + pluginDirectory,
            "-c", "luafile " + Self.fixtures + "/" + script,
        ]
        let output = closingOnExecPipe()
        let errors = closingOnExecPipe()
        defer { [output.write, errors.write].forEach { close($0) } }
        self.output = TextCollector(fd: output.read)
        self.errors = TextCollector(fd: errors.read)
        let process = try ChildProcess(nvim, arguments: arguments, environment: env, stdout: output.write, stderr: errors.write)
        self.process = process
    }

    /// What Neovim wrote on stdout and stderr so far (prompts, errors of its own).
    public var transcript: String { "stdout: \(output.text)\nstderr: \(errors.text)" }

    private func stepPath(_ number: Int) -> String {
        let digits = String(number)
        return directory + "/step-" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Waits for the script's next step, which must be `expected`; returns its data.
    public func step(_ expected: String, timeout: Duration = TestTime.bound(.seconds(120))) async throws -> [String: Any] {
        let number = steps.withLock { $0 += 1; return $0 }
        let path = stepPath(number) + ".json"
        let deadline = ContinuousClock.now + timeout
        while !FileManager.default.fileExists(atPath: path) {
            if !process.isRunning {
                try await Task.sleep(for: .milliseconds(100))
                if FileManager.default.fileExists(atPath: path) { break }
                throw FactoryError(message: "nvim ended before step \(expected)\n\(transcript)")
            }
            if ContinuousClock.now >= deadline {
                process.terminate()
                throw FactoryError(message: "nvim did not reach step \(expected) in time\n\(transcript)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let step = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        let name = step["name"] as? String ?? ""
        let content = step["data"] as? [String: Any] ?? [:]
        guard name == expected else {
            throw FactoryError(message: "nvim reached step \(name), not \(expected): \(content)\n\(transcript)")
        }
        return content
    }

    /// Lets the script go on past the step it waits at, with `reply` as that step's answer.
    public func go(_ reply: [String: Any] = [:]) throws {
        let number = steps.withLock { $0 }
        let path = stepPath(number) + ".go"
        try Data(Wire.json(reply).utf8).write(to: URL(fileURLWithPath: path + ".tmp"))
        try FileManager.default.moveItem(atPath: path + ".tmp", toPath: path)
    }

    /// Waits for the script's last step and for Neovim to exit; returns its exit status.
    public func finish(timeout: Duration = TestTime.bound(.seconds(30))) async throws -> Int32 {
        _ = try await step("done")
        try go()
        guard let ended = try await ChildExit.wait(for: process, until: ContinuousClock.now + timeout) else {
            process.terminate()
            throw FactoryError(message: "nvim did not exit after its script\n\(transcript)")
        }
        return ended.status
    }

    deinit {
        process.terminate()
    }
}

/// Whether process `pid` is gone (or a zombie that nobody reaped yet: it runs no more).
public func processEnded(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    // The state follows the command name in parentheses, which may itself hold spaces.
    guard let close = stat.lastIndex(of: ")") else { return true }
    let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
    return state == "Z" || state == "X"
}
