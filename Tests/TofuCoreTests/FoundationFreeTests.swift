import Foundation
import Testing

/// TofuCore and the CLI import no Foundation module: the CLI links TofuCore, and Foundation
/// (with ICU) would cost every cold `tofu` command its loading. Foundation's value types have
/// Glibc or standard library equivalents here (Timestamp formats with gmtime_r). The built
/// binary is checked too (CLITests.cliDoesNotLinkFoundation), for what the CLI links through
/// other modules.
@Suite struct FoundationFreeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test(arguments: ["Sources/TofuCore", "Sources/tofu", "Sources/TofuText"])
    func noFoundationImport(directory: String) throws {
        let folder = Self.root.appendingPathComponent(directory)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
        #expect(!files.isEmpty, "no Swift files in \(folder.path)")
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                #expect(!Self.importsFoundation(line), "\(directory)/\(file):\(number + 1): \(line)")
            }
        }
    }

    @Test func theCheckSeesEveryFormOfTheImport() {
        for line in ["import Foundation", "  import FoundationEssentials", "@preconcurrency import Foundation", "import struct Foundation.Date",
            "@_exported import Foundation // why"] {
            #expect(Self.importsFoundation(Substring(line)), "\(line)")
        }
        for line in ["import Glibc", "/// Foundation's FileHandle traps", "import FoundationLike", "import JSONRPC"] {
            #expect(!Self.importsFoundation(Substring(line)), "\(line)")
        }
    }

    /// `import Foundation`, `FoundationEssentials`, …, with attributes or a declaration kind.
    static func importsFoundation(_ line: Substring) -> Bool {
        line.contains(/^\s*(@\w+\s+)*import\s+((typealias|struct|class|enum|protocol|let|var|func)\s+)?Foundation(Essentials|Internationalization|Networking|XML)?(\.|\s|$)/)
    }
}
