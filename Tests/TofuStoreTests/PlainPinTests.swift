import Foundation
import GRDB
import Testing
import TofuCore
import TofuTLS

@testable import TofuStore

/// `Rows.plainPin`, the point read's check of a row in place, against `Rows.pin`, the strict
/// reading of every row: whatever a column holds, a row the first accepts is one the second reads
/// with the very same texts, host and policy. The first may decline a row the second reads (it is
/// then read as a `Pin`), but it must take the plain row as tofu writes it, or it is never used.
@Suite struct PlainPinTests {
    static var unstaged: Pin {
        var pin = RowsTests.pin
        pin.next = nil
        pin.lastVerifiedAt = RowsTests.time
        return pin
    }

    /// What each reader makes of the one pin row of `queue`.
    static func read(_ queue: DatabaseQueue) throws -> (plain: PlainPin?, decoded: Pin?) {
        let host = unstaged.host
        return try queue.read { db in
            let rows = try SteppedRows(db.makeStatement(sql: "SELECT \(Rows.pinColumns) FROM pin"), arguments: [])
            return try withExtendedLifetime(rows) {
                guard let row = try rows.next() else { return (nil, nil) }
                let plain = Rows.plainPin(row, host: host, key: host.description)
                let decoded = try? Rows.pin(row)
                return (plain, decoded)
            }
        }
    }

    /// The plain pin says what the decoded one says, text for text.
    static func agree(_ plain: PlainPin, _ pin: Pin) -> Bool {
        plain.withTexts { texts in
            func same(_ bytes: UnsafeRawBufferPointer, _ text: String) -> Bool { String(decoding: bytes, as: UTF8.self) == text }
            var names: [String] = []
            _ = texts.forEachSubjectAltName { name in
                names.append(String(decoding: name, as: UTF8.self))
                return true
            }
            let certificate = pin.certificate
            return plain.host == pin.host && plain.policy == pin.policy && pin.next == nil
                && same(texts.sha256Fingerprint, certificate.sha256Fingerprint.description) && same(texts.spkiSha256, certificate.spkiSha256)
                && same(texts.subject, certificate.subject) && same(texts.issuer, certificate.issuer)
                && same(texts.serialNumber, certificate.serialNumber) && same(texts.notBefore, certificate.notBefore)
                && same(texts.notAfter, certificate.notAfter) && names == certificate.subjectAltNames
                && same(texts.publicKey, certificate.publicKey) && same(texts.pinnedAt, pin.pinnedAt)
                && texts.lastVerifiedAt.map { String(decoding: $0, as: UTF8.self) } == pin.lastVerifiedAt
        }
    }

    /// Each storage class, and text a `String` reads otherwise (invalid UTF-8, an encoded
    /// surrogate, a NUL), a CR before a line feed, texts that differ only in case or by a space:
    /// SQL, where COL stands for the column's own value.
    static let oddValues: [(label: String, sql: String)] = [
        ("NULL", "NULL"), ("integer", "7"), ("real", "1.5"), ("text", "'x'"), ("blob", "X'FF'"), ("empty blob", "X''"),
        ("the text as a blob", "CAST(COL AS BLOB)"), ("invalid UTF-8", "CAST(X'41C328' AS TEXT)"), ("encoded surrogate", "CAST(X'EDA080' AS TEXT)"),
        ("text with NUL", "COL || char(0) || 'x'"), ("CR LF", "'DNS:a' || char(13) || char(10) || 'DNS:b'"), ("upper case", "upper(COL)"),
        ("lower case", "lower(COL)"), ("empty text", "''"), ("a space after", "COL || ' '"), ("the number as text", "CAST(COL AS TEXT)"),
    ]

    @Test func theRowAsTofuWritesItIsReadInPlace() throws {
        let queue = try RowsTests.database(Self.unstaged)
        let (plain, decoded) = try Self.read(queue)
        let pin = try #require(decoded)
        let found = try #require(plain, "the plain row was not read in place: the point read would never use it")
        #expect(Self.agree(found, pin))
        // Nothing verified yet, and no subject alternative name.
        try queue.write { db in try db.execute(sql: "UPDATE pin SET lastVerifiedAt = NULL, subjectAltNames = ''") }
        let (second, secondDecoded) = try Self.read(queue)
        #expect(try Self.agree(#require(second), #require(secondDecoded)))
    }

    @Test func aRowReadInPlaceIsOneTheStrictReadingReadsTheSame() throws {
        let queue = try RowsTests.database(Self.unstaged)
        var declined = 0
        for column in Rows.pinNames where column != "id" {
            for (label, sql) in Self.oddValues {
                let original = try queue.read { db in try DatabaseValue.fetchOne(db, sql: "SELECT \(column) FROM pin") }
                try queue.write { db in try db.execute(sql: "UPDATE pin SET \(column) = \(sql.replacingOccurrences(of: "COL", with: column))") }
                let (plain, decoded) = try Self.read(queue)
                if let plain {
                    let pin = try #require(decoded, "pin.\(column) = \(label): read in place, yet the row is damaged")
                    #expect(Self.agree(plain, pin), "pin.\(column) = \(label): the two readings differ")
                } else {
                    declined += 1
                }
                try queue.write { db in try db.execute(sql: "UPDATE pin SET \(column) = ?", arguments: [original]) }
            }
        }
        // The odd values are declined far more often than not.
        #expect(declined > Rows.pinNames.count * Self.oddValues.count / 2, "declined \(declined)")
    }

    /// A staged pin is read as a `Pin`, never in place.
    @Test func aStagedPinIsNotReadInPlace() throws {
        let (plain, decoded) = try Self.read(RowsTests.database(RowsTests.pin))
        #expect(plain == nil && decoded?.next != nil)
    }
}
