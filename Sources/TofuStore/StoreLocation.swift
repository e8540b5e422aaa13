import Foundation
import TofuCore

/// Where the store lives: `--store PATH` > `TOFU_STORE` > `$XDG_DATA_HOME/tofu/store.sqlite`
/// > `~/.local/share/tofu/store.sqlite`.
public enum StoreLocation {
    public static func resolve(flag: String?, environment: [String: String] = variables()) throws(TofuError) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let path = environment["TOFU_STORE"], !path.isEmpty { return path }
        // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") { return data + "/tofu/store.sqlite" }
        guard let home = environment["HOME"], home.hasPrefix("/") else {
            throw .storeUnavailable(reason: "no store location: give --store PATH, or set TOFU_STORE, XDG_DATA_HOME or HOME")
        }
        return home + "/.local/share/tofu/store.sqlite"
    }

    /// The process's variables `resolve` reads, and only those: `ProcessInfo.environment`
    /// would copy the whole environment into a dictionary at every start of tofu-rpc.
    public static func variables() -> [String: String] {
        var found: [String: String] = [:]
        for name in ["TOFU_STORE", "XDG_DATA_HOME", "HOME"] {
            if let value = getenv(name) { found[name] = String(cString: value) }
        }
        return found
    }
}

extension StoreLocation {
    /// Whether `location` names a PostgreSQL store (`postgresql://…` or `postgres://…`) rather
    /// than an SQLite file.
    public static func isPostgreSQL(_ location: String) -> Bool {
        let lowered = location.lowercased()
        return lowered.hasPrefix("postgresql://") || lowered.hasPrefix("postgres://")
    }

    /// A PostgreSQL URI as messages may show it: scheme, host, port and database only. The user
    /// and password, and the query (which may hold `password=`), are left out.
    public static func redacted(_ uri: String) -> String {
        guard let schemeEnd = uri.range(of: "://") else { return "(a PostgreSQL URI)" }
        var rest = uri[schemeEnd.upperBound...]
        if let query = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<query] }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        if let at = rest[..<authorityEnd].lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        return String(uri[..<schemeEnd.upperBound]) + rest
    }
}
