import Foundation

/// A certificate made for a test by the openssl command, with its key on disk.
public struct TestCertificate: Sendable {
    public let certificatePath: String
    public let keyPath: String
    public let pem: String
    /// `AB:CD:…`, from `openssl x509 -fingerprint -sha256`.
    public let fingerprint: String

    /// Reads a certificate made on disk, and its fingerprint as openssl prints it.
    init(certificatePath: String, keyPath: String) async throws {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        pem = try String(contentsOfFile: certificatePath, encoding: .utf8)
        let line = try await runProgram("openssl", ["x509", "-in", certificatePath, "-noout", "-fingerprint", "-sha256"]).stdout
        fingerprint = String(line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "=", maxSplits: 1).last ?? "")
    }

    /// The serial number as `openssl x509 -serial` prints it: uppercase hex.
    public func serial() async throws -> String {
        String(try await openssl(["-serial"]).split(separator: "=", maxSplits: 1).last ?? "")
    }

    /// What `openssl x509` itself prints for this certificate: the reference tofu is checked against.
    public func openssl(_ arguments: [String]) async throws -> String {
        let result = try await runProgram("openssl", ["x509", "-in", certificatePath, "-noout"] + arguments)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
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
    ) async throws -> TestCertificate {
        let name = UUID().uuidString
        let certificatePath = directory + "/\(name).crt"
        let keyPath = reusingKey ?? directory + "/\(name).key"
        var arguments = ["req", "-x509", "-nodes", "-utf8", "-multivalue-rdn", "-subj", subject, "-days", String(days), "-out", certificatePath]
        arguments += reusingKey == nil ? key.arguments + ["-keyout", keyPath] : ["-key", keyPath]
        if !subjectAltNames.isEmpty { arguments += ["-addext", "subjectAltName=" + subjectAltNames.joined(separator: ",")] }
        let result = try await runProgram("openssl", arguments)
        guard result.status == 0 else { throw FactoryError(message: "openssl req failed: \(result.stderr)") }
        return try await TestCertificate(certificatePath: certificatePath, keyPath: keyPath)
    }
}

extension CertificateFactory {
    /// A self-signed certificate valid only between two times (openssl's `YYYYMMDDHHMMSSZ`),
    /// made with `openssl ca` since `openssl req` cannot set dates: expired and not-yet-valid certificates.
    public static func make(subject: String = "/CN=kong", notBefore: String, notAfter: String) async throws -> TestCertificate {
        let directory = temporaryDirectory("tofu-ca")
        let keyPath = directory + "/leaf.key"
        let certificatePath = directory + "/leaf.crt"
        try "".write(toFile: directory + "/index.txt", atomically: true, encoding: .utf8)
        try "1000\n".write(toFile: directory + "/serial", atomically: true, encoding: .utf8)
        let config = """
            [ ca ]
            default_ca = tofu_test
            [ tofu_test ]
            database = \(directory)/index.txt
            serial = \(directory)/serial
            new_certs_dir = \(directory)
            default_md = sha256
            policy = anything
            email_in_dn = no
            unique_subject = no
            [ anything ]
            commonName = supplied
            """
        try config.write(toFile: directory + "/ca.cnf", atomically: true, encoding: .utf8)
        let request = try await runProgram("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                                  "-keyout", keyPath, "-subj", subject, "-out", directory + "/leaf.csr"])
        guard request.status == 0 else { throw FactoryError(message: "openssl req failed: \(request.stderr)") }
        let signed = try await runProgram("openssl", ["ca", "-batch", "-notext", "-config", directory + "/ca.cnf", "-selfsign", "-keyfile", keyPath,
                                                 "-in", directory + "/leaf.csr", "-out", certificatePath, "-startdate", notBefore, "-enddate", notAfter])
        guard signed.status == 0 else { throw FactoryError(message: "openssl ca failed: \(signed.stderr)") }
        return try await TestCertificate(certificatePath: certificatePath, keyPath: keyPath)
    }

    /// A leaf signed by an intermediate signed by a root; `chainPath` holds leaf then intermediate.
    public static func chain() async throws -> (leaf: TestCertificate, intermediate: TestCertificate, chainPath: String) {
        let directory = temporaryDirectory("tofu-chain")
        func run(_ arguments: [String]) async throws {
            let result = try await runProgram("openssl", arguments)
            guard result.status == 0 else { throw FactoryError(message: "openssl \(arguments[0]) failed: \(result.stderr)") }
        }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n".write(toFile: directory + "/ca.ext", atomically: true, encoding: .utf8)
        try "subjectAltName=DNS:kong\n".write(toFile: directory + "/leaf.ext", atomically: true, encoding: .utf8)
        try await run(["req", "-x509"] + ec + ["-keyout", directory + "/root.key", "-out", directory + "/root.crt", "-subj", "/O=Test/CN=Test Root", "-days", "30"])
        try await run(["req", "-new"] + ec + ["-keyout", directory + "/int.key", "-out", directory + "/int.csr", "-subj", "/O=Test/CN=Test Intermediate"])
        try await run(["x509", "-req", "-in", directory + "/int.csr", "-CA", directory + "/root.crt", "-CAkey", directory + "/root.key",
                 "-CAcreateserial", "-days", "30", "-extfile", directory + "/ca.ext", "-out", directory + "/int.crt"])
        try await run(["req", "-new"] + ec + ["-keyout", directory + "/leaf.key", "-out", directory + "/leaf.csr", "-subj", "/CN=kong"])
        try await run(["x509", "-req", "-in", directory + "/leaf.csr", "-CA", directory + "/int.crt", "-CAkey", directory + "/int.key",
                 "-CAcreateserial", "-days", "30", "-extfile", directory + "/leaf.ext", "-out", directory + "/leaf.crt"])
        let leaf = try await TestCertificate(certificatePath: directory + "/leaf.crt", keyPath: directory + "/leaf.key")
        let intermediate = try await TestCertificate(certificatePath: directory + "/int.crt", keyPath: directory + "/int.key")
        try (leaf.pem + intermediate.pem).write(toFile: directory + "/chain.pem", atomically: true, encoding: .utf8)
        return (leaf, intermediate, directory + "/chain.pem")
    }

    /// A certificate with absurd fields: a 160-bit serial, `names` SANs, a subject of 200 RDNs.
    public static func absurd(names: Int = 5000) async throws -> TestCertificate {
        let directory = temporaryDirectory("tofu-absurd")
        let sans = (0..<names).map { "DNS:h\($0).example" }.joined(separator: ",")
        try "[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n[dn]\nCN = kong\n[ext]\nsubjectAltName = \(sans)\n"
            .write(toFile: directory + "/absurd.cnf", atomically: true, encoding: .utf8)
        let subject = (0..<200).map { "/OU=unit-\($0)-" + String(repeating: "x", count: 40) }.joined() + "/CN=kong"
        let result = try await runProgram("openssl", [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", directory + "/a.key",
            "-out", directory + "/a.crt", "-config", directory + "/absurd.cnf", "-subj", subject,
            "-set_serial", "0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", "-days", "1",
        ])
        guard result.status == 0 else { throw FactoryError(message: "openssl req failed: \(result.stderr)") }
        return try await TestCertificate(certificatePath: directory + "/a.crt", keyPath: directory + "/a.key")
    }

    /// `certificate` followed by `copies` copies of another certificate: a chain of megabytes.
    public static func hugeChain(for certificate: TestCertificate, copies: Int) async throws -> String {
        let filler = try await make(key: .rsa(4096), subjectAltNames: [])
        let path = temporaryDirectory("tofu-huge") + "/chain.pem"
        try (certificate.pem + String(repeating: filler.pem, count: copies)).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

public struct FactoryError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension CertificateFactory {
    /// A subjectAltName extension given as raw GeneralNames, for SANs openssl's text form
    /// cannot make (bytes at or above 0x80, controls, in an IA5String): pass it as the only
    /// element of `make(subjectAltNames:)`. Each name is its context tag (1 rfc822Name,
    /// 2 dNSName, 6 URI, 7 iPAddress) and its content bytes.
    public static func rawSubjectAltNames(_ names: [(tag: UInt8, bytes: [UInt8])]) -> String {
        func length(_ count: Int) -> [UInt8] {
            guard count >= 0x80 else { return [UInt8(count)] }
            var bytes: [UInt8] = []
            var rest = count
            while rest > 0 {
                bytes.insert(UInt8(rest & 0xFF), at: 0)
                rest >>= 8
            }
            return [0x80 | UInt8(bytes.count)] + bytes
        }
        let content = names.flatMap { [0x80 | $0.tag] + length($0.bytes.count) + $0.bytes }
        let der = [0x30] + length(content.count) + content
        return "DER:" + der.map { ($0 < 0x10 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined()
    }
}
