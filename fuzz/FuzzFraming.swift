// libFuzzer target: arbitrary bytes through the frame decoder (split at a fuzzer-chosen
// point), each message through jansson and the JSON-RPC message model. Built by `make fuzz`
// with the JSONRPC sources it exercises; any crash or sanitizer report is a bug.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The second byte picks the limits: the defaults' shape, or as large as the flags allow
    // (a claimed Content-Length is then never past the limit, and must still reserve nothing).
    let huge = bytes.count > 1 && bytes[1] & 1 == 1
    var decoder = FrameDecoder(maxMessageBytes: huge ? Int.max : 1 << 16, maxHeaderBytes: huge ? Int.max : 1024)
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var events = decoder.feed(Array(bytes[..<cut]))
    events += decoder.feed(Array(bytes[cut...]))
    events += decoder.finish()
    for case .message(let body, _) in events {
        let value: JSONValue
        do {
            value = try JSONCodec.parse(body, maxDepth: 32)
        } catch {
            // A parse error says what kind of error it is in tofu's words, never the input's.
            if case .syntax(let reason, _, _, _) = error, !ParseErrorWording.all.contains(reason) {
                fatalError("parse error reason not from the fixed wordings: \(reason)")
            }
            continue
        }
        let messages: [JSONValue]
        if case .array(let entries) = value { messages = entries } else { messages = [value] }
        for message in messages {
            if case .call(let call) = IncomingMessage(message) {
                _ = try? call.params.named(allowing: ["host", "limit"]).optional("limit", as: Int.self)
            }
            _ = JSONCodec.serialize(message)
        }
    }
    return 0
}
