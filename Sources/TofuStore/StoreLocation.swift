import Foundation
import TofuCore

/// Where the store lives: `--store PATH` > `TOFU_STORE` > `$XDG_DATA_HOME/tofu/store.sqlite`
/// > `~/.local/share/tofu/store.sqlite`.
public enum StoreLocation {
    public static func resolve(flag: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws(TofuError) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let path = environment["TOFU_STORE"], !path.isEmpty { return path }
        // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") { return data + "/tofu/store.sqlite" }
        guard let home = environment["HOME"], home.hasPrefix("/") else {
            throw .storeUnavailable(reason: "no store location: give --store PATH, or set TOFU_STORE, XDG_DATA_HOME or HOME")
        }
        return home + "/.local/share/tofu/store.sqlite"
    }
}
