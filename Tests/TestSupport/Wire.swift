import Foundation
import Posix

/// Builds what a client writes: a JSON text framed as NDJSON or LSP.
public enum Wire {
    public static func ndjson(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }

    public static func lsp(_ text: String) -> [UInt8] {
        Array("Content-Length: \(text.utf8.count)\r\n\r\n".utf8) + Array(text.utf8)
    }

    /// Frames `text` in the framing named "ndjson" or "lsp".
    public static func frame(_ text: String, _ framing: String) -> [UInt8] {
        framing == "lsp" ? lsp(text) : ndjson(text)
    }

    /// A request's JSON text, built by Foundation so tests never splice strings into JSON.
    public static func request(_ method: String, id: Any? = nil, params: Any? = nil) -> String {
        var object: [String: Any] = ["jsonrpc": "2.0", "method": method]
        if let id { object["id"] = id }
        if let params { object["params"] = params }
        return json(object)
    }

    public static func json(_ value: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// A canonical text of a JSON text (sorted keys), for comparing documents exactly.
    public static func canonical(_ text: String) -> String {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            return "<not JSON: \(text)>"
        }
        return json(value)
    }
}

/// Writes all of `bytes` to `fd`; a peer that has gone away is the test's to notice.
public func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    _ = try? FileIO.writeAll(fd, bytes)
}
