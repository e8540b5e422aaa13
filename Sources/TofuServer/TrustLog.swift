import JSONRPC
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

    /// Text for one log line, escaped as the clients escape what they print (`LogText`).
    static func printable(_ text: String) -> String {
        LogText.escaped(text)
    }
}
