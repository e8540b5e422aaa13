import JSONRPC
import Logging
import TofuStore
import TofuTLS

/// The method table of `tofu-rpc`: glue between the JSON-RPC layer and tofu's modules.
public enum TofuMethods {
    /// Most TLS probes (verifyCert, addDnacServer) connected at once in this process; more wait their turn.
    public static let defaultMaxProbes = ProbePool.defaultLimit

    public static func table(store: PinStore, logger: Logger, maxProbes: Int = defaultMaxProbes) -> MethodTable {
        ProbePool.shared.limit = maxProbes
        var table = MethodTable()
        table.register("rpc.discover") { params, _ in
            _ = try params.named(allowing: [])
            return ProtocolDocument.value
        }
        PinMethods(store: store).register(in: &table)
        VerifyMethods(store: store).register(in: &table)
        DnacMethods(store: store).register(in: &table)
        return table
    }
}
