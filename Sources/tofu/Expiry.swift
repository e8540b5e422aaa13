import ArgumentParser
import JSONRPC
import TofuCore
import TofuText

/// How the CLI shows a certificate's expiry: `validity=` in `listcerts -v` and `verifycert`
/// lines, the warning of `pin-cert`, and the `--expiring-within` option they share (the same
/// words in clients/tofu.sh).
enum Expiry {
    /// A certificate valid now that ends within this many days is `expiringSoon`, unless
    /// `--expiring-within` says otherwise (tofu-rpc's verifyCert has the same default).
    static let defaultDays = 30

    /// `--expiring-within` must be 0 or more.
    static func check(_ days: Int?) throws {
        if let days, days < 0 {
            throw ValidationError("--expiring-within takes a number of days, 0 or more (0: only certificates already expired), got \(days)")
        }
    }

    /// `expired`, `expiringSoon` or `notYetValid` for a certificate (a pin's or its staged
    /// one's) as tofu-rpc answers it, at `now`; nil for one that is valid and not ending
    /// before `soon`.
    static func validity(of certificate: JSONValue?, now: String, soon: String) -> String? {
        Output.validity(of: certificate, now: now, soon: soon)
    }

    /// What `pin-cert` says on stderr when the certificate it pinned or staged for `host` is
    /// expired or not valid yet; nil when it is valid now.
    static func warning(_ certificate: JSONValue?, host: String, staged: Bool) -> String? {
        let what = staged ? "staged" : "pinned"
        let serial = Output.text(certificate?["serialNumber"])
        switch validity(of: certificate, now: Timestamp.now(), soon: "") {
        case "expired":
            let next = staged
                ? "it is probably not the certificate the controller will present: confirm with its administrator"
                : "if the controller still presents it, its certificate needs renewing; stage the new one with: tofu pin-cert \(host) --pem NEW.pem --next"
            return "warning: the certificate \(what) for \(host) (serial \(serial)) expired on \(Output.text(certificate?["notAfter"])); \(next)"
        case "notYetValid":
            return "warning: the certificate \(what) for \(host) (serial \(serial)) is not valid before \(Output.text(certificate?["notBefore"])); check the controller's clock, and that this is its certificate"
        default:
            return nil
        }
    }
}
