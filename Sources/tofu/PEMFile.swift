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
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count: Int
            do {
                count = try FileIO.read(fd, into: &chunk)
            } catch {
                throw CLIFailure(.usage, "cannot read \(path): \(error)")
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            if bytes.count >= limit - 1 { throw CLIFailure(.usage, "\(path) is 1 MiB or more; a PEM certificate is a few KiB: give a file holding one") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CLIFailure(.usage, "\(path) is not text (UTF-8); give a file holding one PEM certificate")
        }
        return text
    }
}
