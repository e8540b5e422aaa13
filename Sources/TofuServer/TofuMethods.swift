import JSONRPC
import Logging
import TofuStore

/// The method table of `tofu-rpc`: glue between the JSON-RPC layer and tofu's modules.
public enum TofuMethods {
    public static func table(store: PinStore, logger: Logger) -> MethodTable {
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
