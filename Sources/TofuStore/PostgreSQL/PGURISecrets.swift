import Foundation

/// A PostgreSQL URI with its secrets taken out, for libpq: the password of its user part and the
/// `password` and `sslpassword` of its query go to libpq as keywords of their own. libpq quotes
/// what it cannot parse in a URI ("invalid percent-encoded token: …"), so a secret left in the
/// URI could reach an error message; taken out and decoded here, it never can, and what is wrong
/// with it is said without it.
struct PGURISecrets {
    /// The URI without its secrets.
    let uri: String
    /// (libpq keyword, decoded value), in the order found.
    let keywords: [(String, String)]

    private static let secretParameters: Set<String> = ["password", "sslpassword"]

    init(_ uri: String) throws(PGError) {
        guard let schemeEnd = uri.range(of: "://") else {
            (self.uri, keywords) = (uri, [])
            return
        }
        var keywords: [(String, String)] = []
        let scheme = uri[..<schemeEnd.upperBound]
        var rest = uri[schemeEnd.upperBound...]
        var fragment: Substring = ""
        if let hash = rest.firstIndex(of: "#") {
            fragment = rest[hash...]
            rest = rest[..<hash]
        }
        var query: Substring?
        if let question = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...]
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            if let colon = userInfo.firstIndex(of: ":") {
                keywords.append(("password", try Self.decoded(userInfo[userInfo.index(after: colon)...], what: "the password in the URI's user part")))
                authority = userInfo[..<colon] + authority[at...]
            }
        }
        var kept: [Substring] = []
        for parameter in query?.split(separator: "&", omittingEmptySubsequences: false) ?? [] {
            let name = parameter.prefix(while: { $0 != "=" })
            if Self.secretParameters.contains(String(name)) {
                let value = parameter.dropFirst(name.count + 1)
                keywords.append((String(name), try Self.decoded(value, what: "the \(name) parameter of the URI")))
            } else {
                kept.append(parameter)
            }
        }
        let keptQuery = query == nil || kept.isEmpty ? "" : "?" + kept.joined(separator: "&")
        self.uri = String(scheme) + authority + path + keptQuery + fragment
        self.keywords = keywords
    }

    /// `text` with its %XX escapes decoded, as libpq decodes them; the error never shows it.
    private static func decoded(_ text: Substring, what: String) throws(PGError) -> String {
        guard let value = String(text).removingPercentEncoding, !value.contains("\0") else {
            throw PGError(sqlState: nil, message: "\(what) is not validly percent-encoded (each % must be followed by two hex digits, not %00; write % itself as %25); it is not shown here")
        }
        return value
    }
}
