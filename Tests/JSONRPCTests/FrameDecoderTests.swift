import JSONRPC
import Testing

@Suite struct FrameDecoderTests {
    static let first = #"{"jsonrpc":"2.0","id":1,"method":"a"}"#
    static let second = #"[{"jsonrpc":"2.0","id":2,"method":"b"}]"#

    /// A stream with both framings, CRLF and LF, stray blank lines and Content-Type.
    static let mixed: [UInt8] = Array(
        (first + "\r\n"
            + "\n"
            + "content-length: \(second.utf8.count)\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" + second
            + "\r\n" + first + "\n"
            + "Content-Length: \(first.utf8.count)\n\n" + first).utf8)

    static let expected: [FrameDecoder.Event] = [
        .message(Array(first.utf8), .newlineDelimited),
        .message(Array(second.utf8), .contentLength),
        .message(Array(first.utf8), .newlineDelimited),
        .message(Array(first.utf8), .contentLength),
    ]

    static func decode(_ chunks: [[UInt8]], decoder: FrameDecoder = FrameDecoder()) -> [FrameDecoder.Event] {
        var decoder = decoder
        var events: [FrameDecoder.Event] = []
        for chunk in chunks { events += decoder.feed(chunk) }
        return events + decoder.finish()
    }

    @Test func wholeStreamInOneChunk() {
        #expect(Self.decode([Self.mixed]) == Self.expected)
    }

    @Test func splitAtEveryByteBoundary() {
        for cut in 0...Self.mixed.count {
            let chunks = [Array(Self.mixed[..<cut]), Array(Self.mixed[cut...])]
            #expect(Self.decode(chunks) == Self.expected, "split at byte \(cut)")
        }
    }

    @Test func oneByteAtATime() {
        #expect(Self.decode(Self.mixed.map { [$0] }) == Self.expected)
    }

    @Test func lastLineWithoutNewlineIsStillAMessage() {
        #expect(Self.decode([Array(Self.first.utf8)]) == [.message(Array(Self.first.utf8), .newlineDelimited)])
    }

    @Test func nonJSONLinesArePassedOnToBeAnsweredNotFatal() {
        let events = Self.decode([Array("1\ngarbage here\ntrue\n".utf8)])
        #expect(events == [
            .message(Array("1".utf8), .newlineDelimited),
            .message(Array("garbage here".utf8), .newlineDelimited),
            .message(Array("true".utf8), .newlineDelimited),
        ])
    }

    @Test func oversizedLineIsSkippedAndTheNextOneRead() {
        let decoder = FrameDecoder(maxMessageBytes: 64)
        let long = "[" + String(repeating: "1,", count: 100) + "1]\n"
        let events = Self.decode([Array((long + Self.first + "\n").utf8)], decoder: decoder)
        #expect(events == [.oversized(.newlineDelimited, size: nil), .message(Array(Self.first.utf8), .newlineDelimited)])
    }

    @Test func oversizedBodyIsSkippedWithoutBeingBuffered() {
        var decoder = FrameDecoder(maxMessageBytes: 64)
        // The peer claims a huge body; the decoder answers at once and then only counts bytes.
        var events = decoder.feed(Array("Content-Length: 1000000000\r\n\r\n".utf8))
        #expect(events == [.oversized(.contentLength, size: 1_000_000_000)])
        events = decoder.feed([UInt8](repeating: 0x41, count: 1 << 20))
        #expect(events.isEmpty)
        #expect(decoder.finish() == [.fatal("input ended 998951424 bytes before the end of an oversized body")])
    }

    /// With a limit as large as the flag allows, a claimed Content-Length near the top of the
    /// 18-digit range is still only a claim: nothing is reserved for it up front.
    @Test func aHugeClaimedBodyWithinAHugeLimitReservesNothing() {
        var decoder = FrameDecoder(maxMessageBytes: Int.max)
        #expect(decoder.feed(Array("Content-Length: 999999999999999999\r\n\r\n{}".utf8)).isEmpty)
        #expect(decoder.finish() == [.fatal("input ended 999999999999999997 bytes before the end of a Content-Length body")])
        var lines = FrameDecoder(maxMessageBytes: Int.max, maxHeaderBytes: Int.max)
        #expect(lines.feed(Array("x: 1\r\n".utf8)).isEmpty)
        #expect(lines.feed(Array("\r\n".utf8)) == [.fatal("header block without a Content-Length")])
    }

    @Test func oversizedBodyThenTheNextMessage() {
        let decoder = FrameDecoder(maxMessageBytes: 8)
        let body = String(repeating: "x", count: 20)
        let events = Self.decode([Array(("Content-Length: 20\r\n\r\n" + body + "Content-Length: 2\r\n\r\n{}").utf8)], decoder: decoder)
        #expect(events == [.oversized(.contentLength, size: 20), .message(Array("{}".utf8), .contentLength)])
    }

    @Test(arguments: [
        ("Content-Type: application/json\r\n\r\n{}", "header block without a Content-Length"),
        ("Content-Length: -5\r\n\r\n{}", "Content-Length on line 1 of a header block is not a decimal number"),
        ("Content-Length: abc\r\n\r\n{}", "Content-Length on line 1 of a header block is not a decimal number"),
        ("Content-Length: \r\n\r\n{}", "Content-Length on line 1 of a header block is not a decimal number"),
        ("Content-Type: x\r\nContent-Length: 12 secret\r\n\r\n{}", "Content-Length on line 2 of a header block is not a decimal number"),
        ("Content-Length: 99999999999999999999999\r\n\r\n{}", "Content-Length on line 1 of a header block has more than 18 digits"),
        ("Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", "more than one Content-Length header"),
        ("Content-Length: 2\r\nthis is no header\r\n\r\n{}", "line 2 of a header block is not 'Name: value'"),
    ])
    func unrecoverableHeaders(stream: String, reason: String) {
        let events = Self.decode([Array(stream.utf8)])
        #expect(events == [.fatal(reason)])
    }

    @Test func headerBlockPastItsLimitIsFatal() {
        let decoder = FrameDecoder(maxHeaderBytes: 100)
        let events = Self.decode([Array(("X-Filler: " + String(repeating: "a", count: 200) + "\r\n").utf8)], decoder: decoder)
        #expect(events == [.fatal("header block longer than 100 bytes")])
    }

    @Test func nothingIsReadAfterAFatalEvent() {
        var decoder = FrameDecoder()
        _ = decoder.feed(Array("Content-Length: x\r\n\r\n".utf8))
        #expect(decoder.isClosed)
        #expect(decoder.feed(Array((Self.first + "\n").utf8)).isEmpty)
    }

    @Test func streamEndingInsideAMessageIsReported() {
        #expect(Self.decode([Array("Content-Length: 10\r\n".utf8)]) == [.fatal("input ended inside a header block")])
        #expect(Self.decode([Array("Content-Length: 10\r\n\r\n{\"a\"".utf8)]) == [.fatal("input ended 6 bytes before the end of a Content-Length body")])
    }

    @Test func zeroLengthBodyIsAnEmptyMessage() {
        #expect(Self.decode([Array("Content-Length: 0\r\n\r\n".utf8)]) == [.message([], .contentLength)])
    }

    @Test func framingWritesWhatTheDecoderReads() {
        let body = Array(Self.second.utf8)
        for framing in [Framing.newlineDelimited, .contentLength] {
            #expect(Self.decode([framing.frame(body)]) == [.message(body, framing)])
        }
    }
}
