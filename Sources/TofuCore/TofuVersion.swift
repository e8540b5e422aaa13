/// The release of tofu, the one place it is written: `tofu --version`, `tofu-rpc --version`
/// and what the server reports of itself use it; protocol/openrpc.json's `info.version` (what
/// `rpc.discover` answers) is checked against it by the tests.
public enum TofuVersion {
    public static let string = "0.1.0"
}
