import Foundation
import TestSupport
import Testing

/// Tests that try to break the store and the server: kills at random moments, a full disk,
/// a hostile store path, hostile peers all at once. `make torture` runs them longer
/// (TOFU_TORTURE=1).
@Suite struct HardeningTests {
    static let torture = ProcessInfo.processInfo.environment["TOFU_TORTURE"] == "1"

    /// Processes on one store doing pins and deletes, killed with SIGKILL at random moments:
    /// the store passes integrity_check, every acknowledged pin is there (unless its delete was
    /// sent), every acknowledged delete took effect, no host has two pins.
    @Test func killedAtRandomMomentsTheStoreKeepsEveryAcknowledgedWrite() async throws {
        let store = temporaryDirectory("tofu-kill") + "/store.sqlite"
        let certificate = try await CertificateFactory.make()
        let processes = Self.torture ? 4 : 2
        let writes = Self.torture ? 1000 : 150
        let rounds = Self.torture ? 10 : 2
        var acknowledgedPins = Set<String>()
        var acknowledgedDeletes = Set<String>()
        var sentDeletes = Set<String>()
        var kills = 0
        for round in 0..<rounds {
            var servers: [(ServerProcess, [String: String])] = []
            for process in 0..<processes {
                let server = try ServerProcess(arguments: ["--store", store])
                var requests: [UInt8] = []
                var meaning: [String: String] = [:]
                for index in 0..<writes {
                    let host = "r\(round)-p\(process)-\(index).example_443"
                    requests += Wire.ndjson(Wire.request("pinCert", id: "pin \(host)", params: ["host": host, "pem": certificate.pem]))
                    meaning["pin \(host)"] = host
                    if index % 3 == 2 {
                        let victim = "r\(round)-p\(process)-\(index - 1).example_443"
                        requests += Wire.ndjson(Wire.request("deleteCert", id: "delete \(victim)", params: ["host": victim]))
                        meaning["delete \(victim)"] = victim
                        sentDeletes.insert(victim)
                    }
                }
                server.send(requests)
                servers.append((server, meaning))
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...400)))
            for (server, _) in servers {
                kill(server.process.processIdentifier, SIGKILL)
                kills += 1
            }
            for (server, meaning) in servers {
                _ = try? await server.waitForExit(timeout: .seconds(10))
                for answer in (try? await server.reader.drain(timeout: .seconds(5))) ?? [] where answer.errorCode == nil {
                    guard let id = answer.object["id"] as? String, let host = meaning[id] else { continue }
                    if id.hasPrefix("pin ") { acknowledgedPins.insert(host) } else { acknowledgedDeletes.insert(host) }
                }
            }
        }
        let integrity = try await runProgram("sqlite3", [store, "PRAGMA integrity_check;"])
        #expect(integrity.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(integrity.stdout) \(integrity.stderr)")
        let rows = try await runProgram("sqlite3", [store, "SELECT host FROM pin;"]).stdout.split(separator: "\n").map(String.init)
        let present = Set(rows)
        #expect(rows.count == present.count, "a host has two pins")
        let missing = acknowledgedPins.subtracting(present).subtracting(sentDeletes)
        #expect(missing.isEmpty, "\(missing.count) acknowledged pins are missing, e.g. \(missing.first ?? "")")
        let resurrected = acknowledgedDeletes.intersection(present)
        #expect(resurrected.isEmpty, "\(resurrected.count) acknowledged deletes are undone")
        #expect(!acknowledgedPins.isEmpty && kills == processes * rounds, "nothing was written before the kills")
        print("kill test: \(kills) kills survived, \(acknowledgedPins.count) acknowledged pins and \(acknowledgedDeletes.count) acknowledged deletes checked")
    }

    /// A disk that fills up (a 300 KiB tmpfs, in a mount namespace of the test's own):
    /// writes answer -32005 and nothing is half-written; reads still work.
    @Test(.enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")))
    func aFullDiskRefusesWritesAndKeepsServingReads() async throws {
        let directory = temporaryDirectory("tofu-full")
        let certificate = try await CertificateFactory.make()
        let server = try ServerProcess("/usr/bin/unshare", arguments: [
            "-m", "sh", "-c", "mount -t tmpfs -o size=300k tmpfs '\(directory)' && exec '\(productPath("tofu-rpc"))' --store '\(directory)/store.sqlite'",
        ])
        var pinned: [String] = []
        var full: Received?
        for index in 0..<2000 {
            let answer = try await server.call("pinCert", id: index, params: ["host": "full\(index).example", "pem": certificate.pem])
            if answer.errorCode == nil {
                pinned.append("full\(index).example_443")
            } else {
                full = answer
                break
            }
        }
        let refusal = try #require(full, "the disk never filled up")
        #expect(refusal.errorCode == -32005, "\(refusal)")
        #expect(refusal.errorReason.contains("full") || refusal.errorReason.contains("disk"), "\(refusal)")
        let listed = try await server.call("listCerts", id: "list", params: ["limit": 10000])
        let hosts = ((listed.object["result"] as? [String: Any])?["certs"] as? [[String: Any]])?.compactMap { $0["host"] as? String } ?? []
        #expect(hosts == pinned, "reads after a full disk: \(listed.text.prefix(300))")
        server.closeInput()
        _ = try await server.waitForExit()
    }

    @Test func aStorePathThatIsAnotherUsersSymlinkIsRefused() async throws {
        try #require(geteuid() == 0, "needs root to give the link to another user")
        let directory = temporaryDirectory("tofu-link")
        let target = directory + "/real.sqlite"
        let link = directory + "/store.sqlite"
        _ = FileManager.default.createFile(atPath: target, contents: nil)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        #expect(lchown(link, 65534, 65534) == 0)
        let server = try StoreServer(storePath: link)
        let answer = try await server.call("listCerts")
        #expect(answer.errorCode == -32005)
        #expect(answer.errorReason.contains("symbolic link owned by another user"), "\(answer)")
        _ = try await server.stop()
        #expect(FileManager.default.contents(atPath: target)?.isEmpty == true, "the link's target was written")
    }

    /// 64 hostile peers verified at once: each ends within its deadline with a typed reason,
    /// and the server's memory stays bounded.
    @Test func sixtyFourHostilePeersAtOnce() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let huge = try await CertificateFactory.hugeChain(for: certificate, copies: 2500)
        var hostile: [Peer] = []
        for mode in ["silent", "close", "http", "drip", "reset", "alert"] {
            hostile += try await peers.listen(mode, certificate: certificate, count: 10)
        }
        hostile += try await peers.listen("tls", certificate: certificate, chainPath: huge, count: 4)
        let server = try StoreServer(storePath: temporaryDirectory("tofu-hostile") + "/store.sqlite")
        var pins: [UInt8] = []
        for (index, peer) in hostile.enumerated() {
            pins += Wire.ndjson(Wire.request("pinCert", id: "pin-\(index)", params: ["host": peer.address, "pem": certificate.pem]))
        }
        server.process.send(pins)
        _ = try await server.process.reader.next(hostile.count)
        for _ in 0..<(Self.torture ? 10 : 1) {
            let start = ContinuousClock.now
            let result = try await server.result("verifyCert", ["all": true, "concurrency": 64, "timeoutMs": 3000])
            #expect(ContinuousClock.now - start < TestTime.bound(.seconds(15)), "the deadlines did not hold")
            let results = result["results"] as? [[String: Any]] ?? []
            #expect(results.count == 64)
            #expect(results.allSatisfy { $0["status"] as? String == "unreachable" && ($0["reason"] as? String)?.isEmpty == false })
        }
        let status = try String(contentsOfFile: "/proc/\(server.process.process.processIdentifier)/status", encoding: .utf8)
        let peak = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        #expect(peak > 0 && peak < 256 * 1024, "peak memory \(peak) KiB")
        _ = try await server.stop()
        peers.stop()
    }

    /// A certificate with absurd fields, pinned from PEM and presented live: typed answers,
    /// within the deadline, and the server goes on.
    @Test func aCertificateWithAbsurdFields() async throws {
        let absurd = try await CertificateFactory.absurd()
        let server = try StoreServer(storePath: temporaryDirectory("tofu-absurd") + "/store.sqlite")
        let pinned = try await server.result("pinCert", ["host": "absurd.example", "pem": absurd.pem])
        let pin = pinned["pin"] as? [String: Any]
        #expect((pin?["subjectAltNames"] as? [String])?.count == 5000)
        #expect(pin?["serialNumber"] as? String == "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF")
        #expect((pin?["subject"] as? String)?.hasSuffix("CN = kong") == true)
        let peers = try TLSPeers()
        let peer = try await peers.listen("tls", certificate: absurd)
        let start = ContinuousClock.now
        let verified = try await server.result("verifyCert", ["host": peer.address, "timeoutMs": 3000])
        #expect(["unpinned", "unreachable"].contains(verified["status"] as? String ?? ""), "\(verified)")
        #expect(ContinuousClock.now - start < TestTime.bound(.seconds(10)))
        #expect(try await server.call("rpc.discover").errorCode == nil)
        _ = try await server.stop()
        peers.stop()
    }

    /// Two batches of 1,000 verifyCert calls under `ulimit -n 256` (10,000 calls in batches of
    /// 1,000 under `make torture`), through the probe pool (see ProbeFanOutTests): every answer is a verifyCert result that tells the truth
    /// about its host (pinned: match, unpinned: unpinned, silent: unreachable by timeout), none
    /// is storeUnavailable, and the process never has more threads than the pool and a fixed
    /// number of its own.
    @Test func thousandsOfProbesStayWithinThePoolUnderALowFileLimit() async throws {
        let peers = try TLSPeers()
        let certificate = try await CertificateFactory.make()
        let tls = try await peers.listen("tls", certificate: certificate, count: 6)
        let silent = try await peers.listen("silent", count: 2)
        let store = temporaryDirectory("tofu-fanout") + "/store.sqlite"
        let server = try ProbeFanOutTests.limitedServer(store: store, files: 256)
        let pid = server.process.processIdentifier
        let pinned = Set(tls.prefix(3).map(\.key))
        for (index, peer) in tls.prefix(3).enumerated() {
            let answer = try await server.call("pinCert", id: "pin-\(index)", params: ["host": peer.address, "pem": certificate.pem])
            #expect(answer.errorCode == nil, "\(answer)")
        }
        let idle = try #require(ProbeFanOutTests.threads(pid))
        let hosts = tls + silent
        let batches = HardeningTests.torture ? 10 : 2
        var expected: [String: (host: String, status: String)] = [:]
        let sampler = ProbeFanOutTests.Sampler(pid: pid, ProbeFanOutTests.threads)
        let start = ContinuousClock.now
        for batch in 0..<batches {
            var requests: [String] = []
            for index in 0..<1000 {
                let peer = hosts[(batch * 1000 + index) % hosts.count]
                let isSilent = silent.contains { $0.port == peer.port }
                let id = "b\(batch)-\(index)"
                expected[id] = (peer.key, isSilent ? "unreachable" : pinned.contains(peer.key) ? "match" : "unpinned")
                requests.append(Wire.request("verifyCert", id: id, params: ["host": peer.address, "timeoutMs": isSilent ? 1000 : 20_000]))
            }
            server.send(line: "[" + requests.joined(separator: ",") + "]")
        }
        var answered = 0
        var wrong: [String] = []
        var storeUnavailable = 0
        for _ in 0..<batches {
            let answers = try await server.reader.next(timeout: TestTime.bound(.seconds(HardeningTests.torture ? 900 : 180))).array
            for answer in answers {
                answered += 1
                guard let id = answer["id"] as? String, let want = expected[id] else {
                    wrong.append("unknown answer \(answer)")
                    continue
                }
                if let error = answer["error"] as? [String: Any] {
                    if error["code"] as? Int == -32005 { storeUnavailable += 1 }
                    wrong.append("\(id): error \(error)")
                    continue
                }
                let result = answer["result"] as? [String: Any] ?? [:]
                let status = result["status"] as? String ?? ""
                let reason = result["reason"] as? String
                if result["host"] as? String != want.host || status != want.status || (status == "unreachable" && reason != "timeout") {
                    wrong.append("\(id) \(want.host): expected \(want.status), got \(status) \(reason ?? "") \(result["detail"] ?? "")")
                }
            }
        }
        let peak = await sampler.stop()
        print("fan-out: \(answered) answers in \(ContinuousClock.now - start), threads \(idle) idle, \(peak) at most")
        #expect(answered == batches * 1000)
        #expect(storeUnavailable == 0)
        #expect(wrong.isEmpty, "\(wrong.count) wrong answers, e.g. \(wrong.prefix(5))")
        let overhead = 16 + ProcessInfo.processInfo.activeProcessorCount
        #expect(peak <= idle + 64 + overhead, "\(peak) threads with \(idle) idle: more than the pool of 64 and \(overhead) of tofu-rpc's own")
        server.closeInput()
        #expect(try await server.waitForExit() == 0)
        peers.stop()
    }
}
