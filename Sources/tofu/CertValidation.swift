import ArgumentParser

/// PI's own words: `tofu certvalidation tofu-certs listcerts | deletecert host <key>`.
struct CertValidation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certvalidation",
        abstract: "PI's command words: certvalidation tofu-certs listcerts | deletecert host <key>.",
        subcommands: [TofuCerts.self])

    struct TofuCerts: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tofu-certs",
            abstract: "PI's TOFU certificate commands.",
            subcommands: [ListCerts.self, DeleteCert.self])
    }
}
