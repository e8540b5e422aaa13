import Logging
import TofuCore
import TofuStore

/// tofu-rpc's log of trust decisions: every committed pin, replacement, deletion, mismatch,
/// rotation, renewal, staging, policy change, server added or removed and refused credentials
/// at `notice` (routine matches at `info`), each with its host and fingerprints, on stderr, so
/// that journald or syslog keeps them beside the store's own history. Never a password or a
/// token: none ever reaches the store.
enum TrustLog {
    static func log(_ notice: StoreNotice, to logger: Logger) {
        switch notice {
        case .recorded(let event):
            let level: Logger.Level = event.kind == .matched ? .info : .notice
            logger.log(level: level, "\(event.kind.rawValue) \(event.host) sha256 \(event.sha256Fingerprint): \(printable(event.detail))")
        case .pruned(let count, let before, let host):
            logger.notice("pruned \(count) history event\(count == 1 ? "" : "s") before \(before)\(host.map { " of \($0)" } ?? "")")
        case .backedUp(let summary):
            logger.notice(
                "backed up the store to \(printable(summary.path)): \(summary.pins) pins, \(summary.servers) servers, \(summary.events) events, \(summary.bytes) bytes")
        }
    }

    /// Text for one log line: control and bidirectional formatting characters escaped, so a
    /// line is one line and reads as it is stored.
    static func printable(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x00...0x1F, 0x7F...0x9F, 0x061C, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069:
                result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
