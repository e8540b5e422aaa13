import Foundation
import TestSupport
import Testing

/// libpq is loaded when a PostgreSQL store is first opened, not linked: tofu-rpc on an SQLite
/// store starts without it and the libraries it brings, and a machine without libpq serves
/// SQLite stores and says what to install for a PostgreSQL one. Nothing here connects to a
/// network: the PostgreSQL stores are sockets in an empty temporary directory.
@Suite struct LibPQLoadingTests {
    /// A PostgreSQL URI whose server would be a socket in a directory of the test's own, where
    /// nothing listens: libpq is needed to find that out, and no packet leaves the machine.
    static func absentServerURI() -> String {
        "postgresql://tofu@/tofu?host=" + temporaryDirectory("tofu-nopg")
    }

    @Test func neitherExecutableNeedsLibpq() throws {
        for product in ["tofu-rpc", "tofu"] {
            let needed = try ELFFile.neededLibraries(productPath(product))
            #expect(needed.contains { $0.hasPrefix("libc.so") }, "\(product): the reader found no NEEDED entries: \(needed)")
            #expect(!needed.contains { $0.hasPrefix("libpq") }, "\(product) links libpq: \(needed)")
        }
    }

    /// The SQLite store's server answers without libpq in its memory; the PostgreSQL store's
    /// has it once the store was opened (the same check, seeing it).
    @Test func libpqIsMappedOnlyOnceAPostgreSQLStoreIsOpened() async throws {
        let sqlite = try StoreServer(storePath: newStorePath("tofu-nolibpq"))
        _ = try await sqlite.result("listCerts", ["host": "kong.example"])
        let sqliteMaps = try mappedFiles(sqlite.process.process.processIdentifier)
        #expect(!sqliteMaps.contains { $0.contains("/libpq.so") }, "libpq mapped by tofu-rpc on an SQLite store")
        #expect(sqliteMaps.contains { $0.contains("/libsqlite3.so") }, "the maps were not read: \(sqliteMaps)")
        #expect(try await sqlite.stop() == 0)

        let postgres = try StoreServer(storePath: Self.absentServerURI(), arguments: ["--store-timeout-ms", "2000"])
        let before = try mappedFiles(postgres.process.process.processIdentifier)
        let answer = try await postgres.call("listCerts", ["host": "kong.example"])
        #expect(answer.errorCode == -32005 && answer.errorReason.contains("cannot connect"), "\(answer)")
        #expect(!before.contains { $0.contains("/libpq.so") }, "libpq mapped before the PostgreSQL store was opened")
        #expect(try mappedFiles(postgres.process.process.processIdentifier).contains { $0.contains("/libpq.so") })
        #expect(try await postgres.stop() == 0)
    }

    /// No libpq where it is looked for, or a library that is not libpq: every call on the
    /// PostgreSQL store is answered -32005 saying what to install, and the server goes on.
    @Test func aMissingLibpqIsAStoreErrorSayingWhatToInstall() async throws {
        let missing = temporaryDirectory("tofu-nolibpq") + "/absent/libpq.so.5"
        for (library, words) in [(missing, "cannot open shared object file"), ("libjansson.so.4", "no function PQconnectdbParams")] {
            let server = try StoreServer(storePath: Self.absentServerURI(), environment: ["TOFU_LIBPQ": library])
            for _ in 0..<2 {
                let answer = try await server.call("listCerts", ["host": "kong.example"])
                #expect(answer.errorCode == -32005 && answer.errorKind == "storeUnavailable", "\(answer)")
                for expected in ["could not be loaded", library, words, "libpq5", "TOFU_LIBPQ"] {
                    #expect(answer.errorReason.contains(expected), "'\(expected)' not in: \(answer.errorReason)")
                }
                #expect(!answer.errorReason.contains("cannot connect"), "\(answer.errorReason)")
            }
            #expect(try await server.stop() == 0)
        }

        let cli = try await runProgram(
            productPath("tofu"), ["listcerts", "--store", Self.absentServerURI()],
            environment: ["TOFU_RPC": productPath("tofu-rpc"), "TOFU_LIBPQ": missing, "NO_COLOR": "1"])
        #expect(cli.status == 7, "\(cli)")
        #expect(cli.stderr.contains("libpq5") && cli.stderr.contains("could not be loaded"), "\(cli.stderr)")
    }

    /// The files mapped into process `pid`, read to the end (a /proc file has no size to read up to).
    private func mappedFiles(_ pid: Int32) throws -> [String] {
        let maps = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/\(pid)/maps"))
        defer { try? maps.close() }
        return String(decoding: try maps.readToEnd() ?? Data(), as: UTF8.self).split(separator: "\n").compactMap { line in
            line.firstIndex(of: "/").map { String(line[$0...]) }
        }
    }
}

/// The NEEDED entries of an ELF64 little-endian file's dynamic section: the shared libraries
/// the dynamic loader maps before the program starts.
enum ELFFile {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    static func neededLibraries(_ path: String) throws -> [String] {
        let file = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        func integer(_ offset: Int, _ size: Int) throws -> Int {
            guard offset >= 0, size <= 8, offset <= file.count - size else { throw Malformed(description: "\(path): read past the end at \(offset)") }
            var value: UInt64 = 0
            for index in (0..<size).reversed() { value = value << 8 | UInt64(file[file.startIndex + offset + index]) }
            guard value <= UInt64(Int.max) else { throw Malformed(description: "\(path): value too large at \(offset)") }
            return Int(value)
        }
        guard file.count >= 64, file.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46]), file[file.startIndex + 4] == 2, file[file.startIndex + 5] == 1 else {
            throw Malformed(description: "\(path) is not a little-endian ELF64 file")
        }
        let sectionTable = try integer(0x28, 8), entrySize = try integer(0x3a, 2), sections = try integer(0x3c, 2)
        func section(_ index: Int) throws -> (type: Int, offset: Int, size: Int, link: Int) {
            let base = sectionTable + index * entrySize
            return (try integer(base + 4, 4), try integer(base + 0x18, 8), try integer(base + 0x20, 8), try integer(base + 0x28, 4))
        }
        for index in 0..<sections {
            let dynamic = try section(index)
            guard dynamic.type == 6 else { continue }  // SHT_DYNAMIC
            let strings = try section(dynamic.link)
            var needed: [String] = []
            for entry in stride(from: dynamic.offset, to: dynamic.offset + dynamic.size, by: 16) {
                let tag = try integer(entry, 8)
                if tag == 0 { break }  // DT_NULL
                guard tag == 1 else { continue }  // DT_NEEDED
                let start = strings.offset + (try integer(entry + 8, 8))
                var end = start
                while try integer(end, 1) != 0 { end += 1 }
                needed.append(String(decoding: file[(file.startIndex + start)..<(file.startIndex + end)], as: UTF8.self))
            }
            return needed
        }
        throw Malformed(description: "\(path) has no dynamic section")
    }
}
