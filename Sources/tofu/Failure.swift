import JSONRPC
import Posix
import TofuCore
import TofuText

/// The CLI's exit status, one per outcome a script needs to tell apart (see `tofu --help`).
enum ExitStatus: Int32 {
    case success = 0
    case failure = 1
    case usage = 2
    case mismatch = 3
    case notFound = 4
    case unreachable = 5
    case authenticationFailed = 6
    case storeUnavailable = 7
    case notDnac = 8

    /// The status for an error answer of tofu-rpc.
    init(_ code: ErrorCode) {
        if let own = TofuErrorCode(rawValue: code.rawValue) {
            self.init(own)
        } else {
            self = [.invalidParams, .invalidRequest, .methodNotFound].contains(code) ? .usage : .failure
        }
    }

    init(_ code: TofuErrorCode) {
        switch code {
        case .certNotFound: self = .notFound
        case .certificateMismatch: self = .mismatch
        case .hostUnreachable: self = .unreachable
        case .authenticationFailed: self = .authenticationFailed
        case .storeUnavailable: self = .storeUnavailable
        case .notDnac: self = .notDnac
        }
    }

    static let table = """
        Exit status: 0 success; 1 failure; 2 usage (bad arguments or host key); 3 certificate
        mismatch; 4 not found (no such pin or server, or not pinned); 5 host unreachable;
        6 authentication failed; 7 pin store unavailable; 8 not a DNA Center (or it failed).
        """
}

/// A failure to report on stderr and exit with.
struct CLIFailure: Error {
    let status: ExitStatus
    private(set) var message: String
    /// The error answer it comes from, if any: with --json it goes to stdout too.
    let error: ResponseError?

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
        error = nil
    }

    /// A failure already explained on stderr: only the exit status is left to give.
    init(explained status: ExitStatus) {
        self.status = status
        message = ""
        error = nil
    }

    /// An error answer, in the CLI's words (see FailureText).
    init(_ error: ResponseError, context: FailureText.Context = FailureText.Context()) {
        status = ExitStatus(error.code)
        message = FailureText.message(for: error, context: context)
        self.error = error
    }

    /// An error answer in the CLI's words, then `hint`: what the command had done before it.
    init(_ error: ResponseError, hint: String) {
        self.init(error)
        message += "\n" + hint
    }

    /// Whether the command was given --json: an error answer is then printed on stdout as
    /// `{"error": {code, message, data}}`, for scripts, besides the message on stderr.
    static let printsErrorsAsJSON = Locked(false)
}

extension Result where Failure == ResponseError {
    /// The result, or the failure the CLI exits with.
    func orExit(context: FailureText.Context = FailureText.Context()) throws(CLIFailure) -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let error): throw CLIFailure(error, context: context)
        }
    }
}
