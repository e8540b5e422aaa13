// libFuzzer target: arbitrary bytes through the frame decoder (split at a fuzzer-chosen
// point), each message through jansson and the JSON-RPC message model. Built by `make fuzz`
// with the JSONRPC sources it exercises; any crash or sanitizer report is a bug.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var decoder = FrameDecoder(maxMessageBytes: 1 << 16, maxHeaderBytes: 1024)
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    var events = decoder.feed(Array(bytes[..<cut]))
    events += decoder.feed(Array(bytes[cut...]))
    events += decoder.finish()
    for case .message(let body, _) in events {
        guard let value = try? JSONCodec.parse(body, maxDepth: 32) else { continue }
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
