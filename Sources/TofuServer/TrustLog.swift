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
            logger.log(level: level, "\(event.kind.rawValue) \(event.host) | sha256: \(event.sha256Fingerprint) | \(printable(event.detail))")
        case .imported(let event):
            // Someone else's decision, at its own time: never to be read as one made here, now.
            logger.notice(
                "imported \(event.kind.rawValue) \(event.host) | sha256: \(event.sha256Fingerprint) | at: \(event.at) | \(printable(event.detail))")
        case .pruned(let count, let before, let host):
            logger.notice("pruned \(count) history event\(count == 1 ? "" : "s") before \(before)\(host.map { " of \($0)" } ?? "")")
        case .backedUp(let summary):
            logger.notice(
                "backed up the store to \(printable(summary.path)): \(summary.pins) pins, \(summary.servers) servers, \(summary.events) events, \(summary.bytes) bytes")
        }
    }

    /// Text for one log line, which is often read on a terminal (journalctl, a tail of the
    /// log): escaped as the clients escape what they print (TerminalText), every control,
    /// bidirectional formatting, line separator and invisible character as `\u{…}`, so a
    /// line is one line and `CN = ko\u{200B}ng` cannot pass for `CN = kong`. A backslash is
    /// written `\\`, so that every backslash in the line begins an escape: a detail that holds
    /// the text `\u{200B}` (an imported event, a user name) reads `\\u{200B}`, never as the
    /// zero-width space it spells.
    static func printable(_ text: String) -> String {
        // Printable ASCII but the backslash, what a detail nearly always is, has nothing to
        // escape: one pass over its bytes instead of building the line again a scalar at a time
        // (50k instructions of every write's 460k).
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x5C }) { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x5C:
                result += #"\\"#
            case 0x00...0x1F, 0x7F...0x9F, 0xAD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B...0x180F,
                0x200B...0x200F, 0x2028...0x202E, 0x2060...0x206F, 0x3164, 0xFE00...0xFE0F, 0xFEFF, 0xFFA0, 0xFFF0...0xFFF8:
                result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
