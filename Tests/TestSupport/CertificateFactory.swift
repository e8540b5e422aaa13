import Foundation

/// A certificate made for a test by the openssl command, with its key on disk.
public struct TestCertificate: Sendable {
    public let certificatePath: String
    public let keyPath: String
    public let pem: String

    /// What `openssl x509` itself prints for this certificate: the reference tofu is checked against.
    public func openssl(_ arguments: [String]) throws -> String {
        let result = try runCommand("openssl", ["x509", "-in", certificatePath, "-noout"] + arguments)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `AB:CD:…`, from `openssl x509 -fingerprint -sha256`.
    public var fingerprint: String {
        let line = (try? openssl(["-fingerprint", "-sha256"])) ?? ""
        return String(line.split(separator: "=", maxSplits: 1).last ?? "")
    }
}

public enum KeyType: Sendable {
    case rsa(Int)
    case ec(String)
    case ed25519

    var arguments: [String] {
        switch self {
        case .rsa(let bits): ["-newkey", "rsa:\(bits)"]
        case .ec(let curve): ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:\(curve)"]
        case .ed25519: ["-newkey", "ed25519"]
        }
    }
}

/// Makes self-signed certificates with the openssl command.
public enum CertificateFactory {
    /// A self-signed certificate. `subject` is openssl's `/CN=…` form (multi-valued RDNs with
    /// `+`); `reusingKey` re-issues with an existing key (same public key, new serial).
    public static func make(
        subject: String = "/CN=kong", key: KeyType = .ec("P-256"), days: Int = 365, subjectAltNames: [String] = ["DNS:kong"],
        reusingKey: String? = nil, in directory: String = temporaryDirectory("tofu-cert")
    ) throws -> TestCertificate {
        let name = UUID().uuidString
        let certificatePath = directory + "/\(name).crt"
        let keyPath = reusingKey ?? directory + "/\(name).key"
        var arguments = ["req", "-x509", "-nodes", "-utf8", "-multivalue-rdn", "-subj", subject, "-days", String(days), "-out", certificatePath]
        arguments += reusingKey == nil ? key.arguments + ["-keyout", keyPath] : ["-key", keyPath]
        if !subjectAltNames.isEmpty { arguments += ["-addext", "subjectAltName=" + subjectAltNames.joined(separator: ",")] }
        let result = try runCommand("openssl", arguments)
        guard result.status == 0 else { throw FactoryError(message: "openssl req failed: \(result.stderr)") }
        let pem = try String(contentsOfFile: certificatePath, encoding: .utf8)
        return TestCertificate(certificatePath: certificatePath, keyPath: keyPath, pem: pem)
    }
}

public struct FactoryError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
