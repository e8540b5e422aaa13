import Foundation
import TestSupport
import Testing

/// `tofu history` with both clients: filtered by event and date, pruned before a date, and each
/// line PI's five fields whatever the detail says.
@Suite struct HistoryCLITests {
    static func day(_ offset: Int) -> String {
        let formatter = DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date().addingTimeInterval(Double(offset) * 86_400))
    }

    /// The `event=` of each line.
    static func events(_ output: String?) -> [String] {
        (output ?? "").split(separator: "\n").compactMap { line in
            line.components(separatedBy: ";  ").first { $0.hasPrefix("event=") }.map { String($0.dropFirst("event=".count)) }
        }
    }

    @Test func historyIsFilteredPrunedAndReadsAsPILines() async throws {
        let first = try await CertificateFactory.make()
        let second = try await CertificateFactory.make()
        let stores = Dictionary(uniqueKeysWithValues: CLITests.Client.allCases.map { ($0, temporaryDirectory("tofu-history-cli") + "/store.sqlite") })
        // Documentation addresses, only ever listed: never verified, never dialled.
        try await CLITests.both(["pin-cert", "192.0.2.51", "--pem", first.certificatePath, "--policy", "public-key"], stores: stores, status: 0)
        try await CLITests.both(["pin-cert", "192.0.2.51", "--pem", second.certificatePath, "--next"], stores: stores, status: 0)
        try await CLITests.both(["pin-cert", "192.0.2.52", "--pem", second.certificatePath], stores: stores, status: 0)
        try await CLITests.both(["deletecert", "host", "192.0.2.52_443"], stores: stores, status: 0)

        var results = try await CLITests.both(["history"], stores: stores, status: 0)
        #expect(Self.events(results[.swift]?.stdout) == ["pinned", "staged", "pinned", "deleted"])
        // Each line is PI's fields and no more: a detail's parts never read as fields.
        for line in (results[.swift]?.stdout ?? "").split(separator: "\n") {
            let fields = line.components(separatedBy: ";  ")
            #expect(fields.map { $0.prefix { $0 != "=" } } == ["at", "event", "host", "sha256", "detail"], "\(line)")
            #expect(!(fields.last ?? "").contains(";"), "\(line)")
        }
        results = try await CLITests.both(["history", "--event", "deleted"], stores: stores, status: 0)
        #expect(Self.events(results[.swift]?.stdout) == ["deleted"])
        results = try await CLITests.both(["history", "--event", "staged", "--event", "deleted"], stores: stores, status: 0)
        #expect(Self.events(results[.swift]?.stdout) == ["staged", "deleted"])
        results = try await CLITests.both(["history", "192.0.2.51_443", "--event", "pinned", "--since", Self.day(-1)], stores: stores, status: 0)
        #expect(Self.events(results[.swift]?.stdout) == ["pinned"])
        results = try await CLITests.both(["history", "--since", Self.day(1)], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "")
        results = try await CLITests.both(["history", "--since", Self.day(-1) + "T00:00:00Z", "--limit", "1"], stores: stores, status: 0)
        #expect(Self.events(results[.swift]?.stdout) == ["deleted"])
        for bad in [["history", "--event", "nonsense"], ["history", "--since", "yesterday"], ["history", "--since", "2026-02-30"]] {
            results = try await CLITests.both(bad, stores: stores, status: 2)
            #expect(results.values.allSatisfy { !$0.stderr.isEmpty }, "\(bad)")
        }
        #expect(results[.swift]?.stderr.contains("must be a date (2026-11-29, meaning 00:00:00 UTC) or a UTC time") == true, "\(results)")
        results = try await CLITests.both(["history", "--prune-before", "2026-01-01", "--event", "pinned"], stores: stores, status: 2)

        // Pruning: nothing before yesterday; one host's events before tomorrow; the pins stay.
        results = try await CLITests.both(["history", "--prune-before", Self.day(-1)], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "pruned=0;  before=\(Self.day(-1))T00:00:00Z\n")
        results = try await CLITests.both(["history", "192.0.2.52_443", "--prune-before", Self.day(1)], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "pruned=2;  before=\(Self.day(1))T00:00:00Z\n")
        results = try await CLITests.both(["history"], stores: stores, status: 0)
        #expect(Self.events(results[.swift]?.stdout) == ["pinned", "staged"])
        results = try await CLITests.both(["history", "--prune-before", Self.day(1), "--json"], stores: stores, status: 0)
        #expect(results[.swift]?.stdout.contains(#""pruned":2"#) == true, "\(results)")
        results = try await CLITests.both(["history"], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "")
        results = try await CLITests.both(["listcerts"], stores: stores, status: 0)
        #expect(results[.swift]?.stdout == "host=192.0.2.51_443;  subject=CN = kong\n")
    }
}
