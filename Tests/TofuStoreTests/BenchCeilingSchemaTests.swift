import Foundation
import Testing

@testable import TofuStore

/// The C ceilings of `make bench` (bench/c) refuse a store whose schema version is not the one
/// they were written for, as tofu does; `make test` does not run them, so this keeps their
/// version in step with the store's migrations (a new migration once broke `make bench`).
@Suite struct BenchCeilingSchemaTests {
    static let benchC = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("bench/c")

    static func defined(_ name: String, in file: String) throws -> Int? {
        let text = try String(contentsOf: benchC.appendingPathComponent(file), encoding: .utf8)
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count >= 3, words[0] == "#define", words[1] == name { return Int(words[2]) }
        }
        return nil
    }

    @Test func theSQLiteCeilingExpectsTheStoresSchemaVersion() throws {
        #expect(try Self.defined("TOFU_MIGRATIONS", in: "pin_sqlite.h") == Schema.migrator.migrations.count)
    }

    @Test func thePostgreSQLCeilingExpectsTheStoresSchemaVersion() throws {
        #expect(try Self.defined("TOFU_PG_MIGRATIONS", in: "pin_pg.h") == PGSchema.migrations.count)
    }
}
