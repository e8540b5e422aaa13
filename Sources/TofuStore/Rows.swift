import Foundation
import GRDB
import TofuCore

/// Pins and events to and from rows. SANs are stored one per line: tofu escapes control
/// characters in them, so a name can never contain a newline.
enum Rows {
    static let pinColumns = """
        host, address, port, der, sha256Fingerprint, spkiSha256, subject, issuer, serialNumber,
        notBefore, notAfter, subjectAltNames, publicKey, pinnedAt, lastVerifiedAt
        """

    static func insert(_ pin: Pin, into db: Database) throws {
        let certificate = pin.certificate
        try db.cachedStatement(sql: "INSERT INTO pin (\(pinColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").execute(arguments: [
                pin.host.description, pin.host.host, pin.host.port, Data(certificate.der),
                certificate.sha256Fingerprint.description, certificate.spkiSha256, certificate.subject,
                certificate.issuer, certificate.serialNumber, certificate.notBefore, certificate.notAfter,
                certificate.subjectAltNames.joined(separator: "\n"), certificate.publicKey, pin.pinnedAt,
                pin.lastVerifiedAt,
            ])
    }

    /// A row of `SELECT \(pinColumns)`, read by position (GRDB's by-name lookup lowercases
    /// the name on every call, which dominated listing large stores).
    static func pin(_ row: Row) throws -> Pin {
        // Only normalised keys and canonical fingerprints are ever written (see `insert`).
        let host = HostKey(stored: row[1], port: row[2])
        let sans: String = row[11]
        let certificate = CertificateSummary(
            subject: row[6], issuer: row[7], serialNumber: row[8], sha256Fingerprint: Fingerprint(stored: row[4]),
            spkiSha256: row[5], notBefore: row[9], notAfter: row[10],
            subjectAltNames: sans.isEmpty ? [] : sans.split(separator: "\n", omittingEmptySubsequences: false).map(String.init), publicKey: row[12],
            der: try row.withUnsafeData(atIndex: 3) { data in data.map { [UInt8]($0) } ?? [] })
        return Pin(host: host, certificate: certificate, pinnedAt: row[13], lastVerifiedAt: row[14])
    }

    static func record(_ event: HistoryEvent, into db: Database) throws {
        try db.cachedStatement(sql: "INSERT INTO event (at, host, event, sha256Fingerprint, detail) VALUES (?, ?, ?, ?, ?)").execute(arguments: [event.at, event.host.description, event.kind.rawValue, event.sha256Fingerprint.description, event.detail])
    }

    static let eventColumns = "at, host, event, sha256Fingerprint, detail"

    /// A row of `SELECT \(eventColumns)`, read by position.
    static func event(_ row: Row) throws -> HistoryEvent {
        let hostText: String = row[1]
        let kindText: String = row[2]
        guard let host = try? HostKey(parsing: hostText), let kind = HistoryEvent.Kind(rawValue: kindText) else {
            throw TofuError.storeUnavailable(reason: "the store holds a damaged history row for '\(hostText)'")
        }
        return HistoryEvent(at: row[0], host: host, kind: kind, sha256Fingerprint: Fingerprint(stored: row[3]), detail: row[4])
    }

    static let serverColumns = "address, port, username, pinnedFingerprint, addedAt, lastCheckedAt, authenticated"

    /// A row of `SELECT \(serverColumns)`, read by position.
    static func server(_ row: Row) -> DnacServer {
        DnacServer(
            host: HostKey(stored: row[0], port: row[1]), username: row[2], pinnedFingerprint: Fingerprint(stored: row[3]),
            addedAt: row[4], lastCheckedAt: row[5], authenticated: row[6])
    }
}
