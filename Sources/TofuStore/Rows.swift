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
        try db.execute(
            sql: "INSERT INTO pin (\(pinColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            arguments: [
                pin.host.description, pin.host.host, pin.host.port, Data(certificate.der),
                certificate.sha256Fingerprint.description, certificate.spkiSha256, certificate.subject,
                certificate.issuer, certificate.serialNumber, certificate.notBefore, certificate.notAfter,
                certificate.subjectAltNames.joined(separator: "\n"), certificate.publicKey, pin.pinnedAt,
                pin.lastVerifiedAt,
            ])
    }

    static func pin(_ row: Row) throws -> Pin {
        let address: String = row["address"]
        let port: Int = row["port"]
        let fingerprintText: String = row["sha256Fingerprint"]
        guard let host = try? HostKey(host: address, port: port), let fingerprint = Fingerprint(parsing: fingerprintText) else {
            throw TofuError.storeUnavailable(reason: "the store holds a damaged pin row for '\(address)_\(port)'; run 'sqlite3 STORE \"PRAGMA integrity_check\"'")
        }
        let sans: String = row["subjectAltNames"]
        let certificate = CertificateSummary(
            subject: row["subject"], issuer: row["issuer"], serialNumber: row["serialNumber"],
            sha256Fingerprint: fingerprint, spkiSha256: row["spkiSha256"], notBefore: row["notBefore"],
            notAfter: row["notAfter"], subjectAltNames: sans.isEmpty ? [] : sans.components(separatedBy: "\n"),
            publicKey: row["publicKey"], der: [UInt8](row["der"] as Data))
        return Pin(host: host, certificate: certificate, pinnedAt: row["pinnedAt"], lastVerifiedAt: row["lastVerifiedAt"])
    }

    static func record(_ event: HistoryEvent, into db: Database) throws {
        try db.execute(
            sql: "INSERT INTO event (at, host, event, sha256Fingerprint, detail) VALUES (?, ?, ?, ?, ?)",
            arguments: [event.at, event.host.description, event.kind.rawValue, event.sha256Fingerprint.description, event.detail])
    }

    static func event(_ row: Row) throws -> HistoryEvent {
        let hostText: String = row["host"]
        let kindText: String = row["event"]
        let fingerprintText: String = row["sha256Fingerprint"]
        guard let host = try? HostKey(parsing: hostText), let kind = HistoryEvent.Kind(rawValue: kindText),
            let fingerprint = Fingerprint(parsing: fingerprintText)
        else {
            throw TofuError.storeUnavailable(reason: "the store holds a damaged history row for '\(hostText)'")
        }
        return HistoryEvent(at: row["at"], host: host, kind: kind, sha256Fingerprint: fingerprint, detail: row["detail"])
    }
}

