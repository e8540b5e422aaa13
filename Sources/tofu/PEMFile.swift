import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// The file `pin-cert --pem` names, read whole: a certificate the operator obtained out of band.
enum PEMFile {
    /// The whole file as UTF-8 text; a usage failure naming the file and why. Under 1 MiB: a
    /// certificate is a few KiB, and `--pem /dev/zero` or a log file given by mistake must end.
    static func text(at path: String) throws(CLIFailure) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIFailure(.usage, "cannot read \(path): \(Errno.current)") }
        defer { close(fd) }
        let limit = 1 << 20
        let bytes: [UInt8]
        do {
            bytes = try FileIO.readToEnd(fd, atMost: limit)
        } catch {
            throw CLIFailure(.usage, "cannot read \(path): \(error)")
        }
        if bytes.count >= limit - 1 { throw CLIFailure(.usage, "\(path) is 1 MiB or more; a PEM certificate is a few KiB: give a file holding one") }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CLIFailure(.usage, "\(path) is not text (UTF-8); give a file holding one PEM certificate")
        }
        return text
    }
}
