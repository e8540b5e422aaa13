import JSONRPC

/// `protocol/openrpc.json`, compiled into the binary so `rpc.discover` answers from any directory.
public enum ProtocolDocument {
    /// The parsed document. The file is part of the build and checked by the tests, so a
    /// document that does not parse is a build defect, not a runtime condition.
    public static let value: JSONValue = {
        do {
            return try JSONCodec.parse(PackageResources.openrpc_json, maxDepth: 64)
        } catch {
            preconditionFailure("protocol/openrpc.json embedded in this build does not parse: \(error)")
        }
    }()

    /// The names of the methods the document describes.
    public static var methodNames: Set<String> {
        Set((value["methods"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
    }
}
