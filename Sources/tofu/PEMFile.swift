import TofuText
import Posix

#if canImport(Glibc)
    import Glibc
#endif

/// The file `pin-cert --pem` names, read whole: a certificate the operator obtained out of band.
enum PEMFile {
    /// The whole file as UTF-8 text; a usage failure naming the file and why. Under 1 MiB: a
    /// certificate is a few KiB, and `--pem /dev/zero` or a log file given by mistake must end.
    static func text(at path: String) throws(CLIFailure) -> String {
        let shown = TerminalText.escaped(path)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIFailure(.usage, "Cannot read \(shown): \(why(Errno.current)).") }
        defer { close(fd) }
        let limit = 1 << 20
        let bytes: [UInt8]
        do {
            bytes = try FileIO.readToEnd(fd, atMost: limit)
        } catch {
            throw CLIFailure(.usage, "Cannot read \(shown): \(why(error)).")
        }
        if bytes.count >= limit - 1 { throw CLIFailure(.usage, "The file \(shown) is 1 MiB or more; a PEM certificate is a few KiB: give a file that holds one.") }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CLIFailure(.usage, "The file \(shown) is not text (UTF-8); give a file that holds one PEM certificate.")
        }
        return text
    }

    /// Why a file cannot be read, in the words clients/tofu.sh uses too.
    private static func why(_ error: Errno) -> String {
        switch error.code {
        case ENOENT: "it does not exist"
        case EISDIR: "it is a directory"
        case EACCES: "permission denied"
        default: "\(error)"
        }
    }
}
