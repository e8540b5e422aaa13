import Foundation
import Testing
import TofuTLS

/// The pure HTTP response reader: what real servers send, and what a hostile peer sends.
@Suite struct HTTPResponseReaderTests {
    static let token = #"{"Token":"eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.test-token"}"#

    struct Answer: Equatable {
        var interim: [Int] = []
        var head: HTTPResponseHead?
        var body: [UInt8] = []
        var persistent: Bool?
        var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    /// Reads `bytes` fed in pieces of `step` bytes (0: at once), then the end of the connection
    /// if `close`.
    static func read(_ bytes: [UInt8], step: Int = 0, close: Bool = true, head request: Bool = false) throws(HTTPResponseError) -> Answer {
        var reader = HTTPResponseReader(bodilessRequest: request)
        var answer = Answer()
        func take(_ events: [HTTPResponseEvent]) {
            for event in events {
                switch event {
                case .interim(let head): answer.interim.append(head.status)
                case .head(let head): answer.head = head
                case .body(let piece): answer.body += piece
                case .end(let persistent): answer.persistent = persistent
                }
            }
        }
        var start = 0
        while start < bytes.count {
            let end = step == 0 ? bytes.count : min(bytes.count, start + step)
            take(try reader.feed(Array(bytes[start..<end])))
            start = end
        }
        if close { take(try reader.finish()) }
        return answer
    }

    static func read(_ text: String, step: Int = 0, close: Bool = true) throws(HTTPResponseError) -> Answer {
        try read(Array(text.utf8), step: step, close: close)
    }

    static func failure(_ bytes: [UInt8], step: Int = 0) -> String? {
        do {
            _ = try read(bytes, step: step)
            return nil
        } catch {
            return error.detail
        }
    }

    static func failure(_ text: String) -> String? { failure(Array(text.utf8)) }

    // MARK: - What real servers send

    @Test func aTokenWithContentLength() throws {
        let text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(Self.token.utf8.count)\r\n\r\n\(Self.token)"
        for step in [0, 1, 2, 7, 64] {
            let answer = try Self.read(text, step: step, close: false)
            #expect(answer.head?.status == 200)
            #expect(answer.head?.reason == "OK")
            #expect(answer.head?.value("CONTENT-type") == "application/json")
            #expect(answer.bodyText == Self.token)
            #expect(answer.persistent == true, "HTTP/1.1 without Connection: close is persistent")
        }
    }

    @Test func aChunkedTokenWithExtensionsAndTrailers() throws {
        let half = Self.token.utf8.count / 2
        let first = String(Self.token.prefix(half)), second = String(Self.token.dropFirst(half))
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + String(first.utf8.count, radix: 16) + " ;name=value\r\n\(first)\r\n"
            + "00" + String(second.utf8.count, radix: 16, uppercase: true) + "\r\n\(second)\r\n0\r\nX-Checksum: abc\r\n\r\n"
        for step in [0, 1, 3] {
            let answer = try Self.read(text, step: step, close: false)
            #expect(answer.bodyText == Self.token)
            #expect(answer.persistent == true)
        }
    }

    @Test func interimAnswersAreSkipped() throws {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n\r\n"
            + "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
        let answer = try Self.read(text, step: 5, close: false)
        #expect(answer.interim == [100, 103])
        #expect(answer.head?.status == 200)
        #expect(answer.bodyText == "{}")
    }

    @Test(arguments: [
        "HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n",
    ])
    func bodilessStatusesEndAtTheirHead(text: String) throws {
        // Complete without the connection closing: no wait for a body that never comes.
        let answer = try Self.read(text, close: false)
        #expect(answer.persistent == true)
        #expect(answer.body.isEmpty)
    }

    @Test func anAnswerToHeadHasNoBody() throws {
        let answer = try Self.read(Array("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n".utf8), close: false, head: true)
        #expect(answer.head?.status == 200)
        #expect(answer.persistent == true)
    }

    @Test func bareLineFeedsAreLineEnds() throws {
        let answer = try Self.read("HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: 2\n\n{}", close: false)
        #expect(answer.head?.value("content-type") == "application/json")
        #expect(answer.bodyText == "{}")
        let chunked = try Self.read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\n\n2\n{}\n0\n\n", close: false)
        #expect(chunked.bodyText == "{}")
    }

    /// RFC 9112 §9.3: `Connection` is a case-insensitive token list, possibly repeated;
    /// HTTP/1.0 persists only with keep-alive; a close-delimited body never persists.
    @Test(arguments: [
        ("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", true),
        ("HTTP/1.1 404 Not Found\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true),
        ("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false),
        ("HTTP/1.1 404 Not Found\r\nConnection: close, TE\r\nContent-Length: 0\r\n\r\n", false),
        ("HTTP/1.1 404 Not Found\r\nConnection: TE,CLOSE\r\nContent-Length: 0\r\n\r\n", false),
        ("HTTP/1.1 404 Not Found\r\nConnection: TE\r\nconnection: Close\r\nContent-Length: 0\r\n\r\n", false),
        ("HTTP/1.1 404 Not Found\r\nConnection: closed\r\nContent-Length: 0\r\n\r\n", true),
        ("HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", false),
        ("HTTP/1.0 404 Not Found\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", true),
        ("HTTP/1.0 404 Not Found\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", false),
        ("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false),
        ("HTTP/1.0 404 Not Found\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false),
        ("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", true),
    ])
    func connectionPersistence(text: String, persistent: Bool) throws {
        let answer = try Self.read(text, close: false)
        #expect(answer.head?.status == 404)
        #expect(answer.persistent == persistent, "\(text)")
    }

    @Test func aCloseDelimitedBodyEndsWithTheConnection() throws {
        let text = "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n\(Self.token)"
        let open = try Self.read(text, close: false)
        #expect(open.persistent == nil, "complete before the close")
        let closed = try Self.read(text, close: true)
        #expect(closed.bodyText == Self.token)
        #expect(closed.persistent == false)
    }

    @Test func repeatedAndFoldedFieldsAndSpacesBeforeTheColon() throws {
        let answer = try Self.read("HTTP/1.1 200 OK\r\nX-A: one\r\nX-Long: a\r\n\t b\r\nX-A : two\r\nContent-Length: 0\r\n\r\n", close: false)
        #expect(answer.head?.value("x-a") == "one, two")
        #expect(answer.head?.value("x-long") == "a b")
    }

    @Test func contentLengthListsOfOneValue() throws {
        #expect(try Self.read("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n{}", close: false).bodyText == "{}")
        #expect(try Self.read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 002\r\n\r\n{}", close: false).bodyText == "{}")
    }

    @Test func surplusAfterTheAnswerIsNoticed() throws {
        var reader = HTTPResponseReader()
        _ = try reader.feed(Array("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8))
        #expect(reader.isComplete)
        #expect(!reader.hasSurplus)
        _ = try reader.feed(Array("HTTP/1.1 200 OK\r\n".utf8))
        #expect(reader.hasSurplus)
    }

    // MARK: - What a hostile peer sends

    /// Each is refused with a sentence, promptly, without arithmetic overflow (the chunk size
    /// 7FFFFFFFFFFFFFFF used to trap in `body.count + size`).
    @Test(arguments: [
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7FFFFFFFFFFFFFFF\r\n", "chunk size “7FFFFFFFFFFFFFFF”"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFFFF\r\n", "would take the answer's body past"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000000000000000000000000005\r\nhello\r\n0\r\n\r\n", nil),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n", "invalid chunk size “-5”"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n", "invalid chunk size “ 5”"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n", "invalid chunk size “0x5”"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n", "invalid chunk size “”"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello world\r\n", "not followed by a line end"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n80000\r\n", nil),
        ("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "announces a body of “99999999999999999999” bytes"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n", "announces a body of “1048577” bytes"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello", "values disagree"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", "values disagree"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5a\r\n\r\nhello", "is not a number"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nhello", "is not a number"),
        ("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", "is not a number"),
        ("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nhello", "is not a number"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\nhello", "is not a number"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "transfer coding “gzip, chunked”"),
        ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", "switches protocols"),
        ("HTTP/2 200\r\n\r\n", "not HTTP/1.x"),
        ("HTTP/1.1 20 OK\r\n\r\n", "not HTTP/1.x"),
        ("HTTP/1.1 999 Odd\r\n\r\n", "not an HTTP status"),
        ("SSH-2.0-OpenSSH_9.2\r\n", "not HTTP/1.x"),
        ("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "has no colon"),
        ("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "not a token"),
        ("HTTP/1.1 200 OK\r\n: x\r\n\r\n", "not a token"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "body was complete"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n", "in the middle of the answer's headers"),
        ("", "before any byte of an answer"),
    ] as [(String, String?)])
    func hostileAnswers(text: String, expected: String?) throws {
        let detail = Self.failure(text)
        if let expected {
            #expect(detail?.contains(expected) == true, "\(detail ?? "no error")")
        } else {
            #expect(detail == nil || detail?.contains("body") == true, "\(detail ?? "")")
        }
    }

    @Test func tenThousandHeaderFields() {
        let text = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-A: b\r\n", count: 10_000) + "\r\n"
        #expect(Self.failure(text)?.contains("more than 256 header fields") == true)
    }

    /// A header line of 1 MiB is refused once it passes the head bound: the reader never
    /// holds more than the bound, whatever the size of the pieces.
    @Test func aHeaderLineOfOneMebibyte() {
        let text = Array("HTTP/1.1 200 OK\r\nX-Big: ".utf8) + [UInt8](repeating: 0x61, count: 1 << 20) + Array("\r\n\r\n".utf8)
        for step in [0, 4096] {
            var reader = HTTPResponseReader()
            var fed = 0
            var detail: String?
            while fed < text.count {
                let end = step == 0 ? text.count : min(text.count, fed + step)
                do {
                    _ = try reader.feed(Array(text[fed..<end]))
                } catch {
                    detail = error.detail
                    break
                }
                fed = end
            }
            #expect(detail?.contains("headers exceed 65536 bytes") == true)
            #expect(fed <= 65536 + 4096, "the reader took \(fed) bytes before refusing")
        }
    }

    @Test func endlessInterimAnswers() {
        let text = String(repeating: "HTTP/1.1 100 Continue\r\n\r\n", count: 1000)
        #expect(Self.failure(text)?.contains("more than 8 interim (1xx) answers") == true)
    }

    @Test func bodiesAreBoundedHoweverTheyAreFramed() {
        let megabyte = 1 << 20
        let closeDelimited = Array("HTTP/1.1 200 OK\r\n\r\n".utf8) + [UInt8](repeating: 0x20, count: megabyte + 1)
        #expect(Self.failure(closeDelimited, step: 65536)?.contains("body exceeds 1048576 bytes") == true)
        var chunked = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        for _ in 0..<16 { chunked += Array("10000\r\n".utf8) + [UInt8](repeating: 0x20, count: 65536) + Array("\r\n".utf8) }
        chunked += Array("1\r\n \r\n0\r\n\r\n".utf8)
        #expect(Self.failure(chunked, step: 65536)?.contains("past 1048576 bytes") == true)
        // Exactly the bound is accepted.
        let exact = Array("HTTP/1.1 200 OK\r\nContent-Length: \(megabyte)\r\n\r\n".utf8) + [UInt8](repeating: 0x20, count: megabyte)
        #expect(Self.failure(exact, step: 65536) == nil)
    }

    @Test func chunkFramingAndTrailersAreBounded() {
        var tiny = Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        for _ in 0..<300_000 { tiny += Array("1\r\n \r\n".utf8) }
        #expect(Self.failure(tiny, step: 65536)?.contains("framing exceeds") == true)
        let longExtension = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + String(repeating: "x", count: 5000) + "\r\n \r\n0\r\n\r\n"
        #expect(Self.failure(longExtension)?.contains("chunk-size line exceeds 4096 bytes") == true)
        let trailers = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + String(repeating: "X-T: y\r\n", count: 5000) + "\r\n"
        #expect(Self.failure(trailers)?.contains("trailer section exceeds") == true)
    }

    @Test func anErrorIsFinal() {
        var reader = HTTPResponseReader()
        #expect(throws: HTTPResponseError.self) { try reader.feed(Array("HTTP/9.9 200 OK\r\n".utf8)) }
        #expect(throws: HTTPResponseError.self) { try reader.feed(Array("HTTP/1.1 200 OK\r\n\r\n".utf8)) }
        #expect(throws: HTTPResponseError.self) { try reader.finish() }
    }

    /// Peer text in a message is short and printable: no control characters, no terminal escapes.
    @Test func peerTextInMessagesIsEscaped() {
        let detail = Self.failure(Array("HTTP/1.1 200 OK\r\nX\u{1B}[31m\u{202E}: v\r\n\r\n".utf8)) ?? ""
        #expect(detail.contains("\\x1B[31m\\xE2\\x80\\xAE"), "\(detail)")
        #expect(!detail.unicodeScalars.contains { $0.value < 0x20 || $0.value >= 0x7F && !"…“”".unicodeScalars.contains($0) })
        let long = Self.failure("HTTP/1.1 200 OK\r\nContent-Length: " + String(repeating: "9", count: 5000) + "\r\n\r\n") ?? ""
        #expect(long.count < 200, "\(long)")
    }

    /// The fuzz target's seed corpus (real answers): every one reads the same whole and byte by byte.
    @Test func theSeedCorpusReadsTheSameInAnyPieces() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/http-corpus")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names.count >= 10)
        for name in names {
            let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(name)).dropFirst(2))
            let whole = Result { () throws(HTTPResponseError) in try Self.read(bytes) }
            let single = Result { () throws(HTTPResponseError) in try Self.read(bytes, step: 1) }
            switch (whole, single) {
            case (.success(let a), .success(let b)): #expect(a == b, "\(name)")
            case (.failure(let a), .failure(let b)): #expect(a == b, "\(name)")
            default: Issue.record("\(name): \(whole) vs \(single)")
            }
        }
    }
}
