import ArgumentParser
import DeployLogStore

/// An error the command line reports as one line on stderr (`deploylog: <message>`) and an exit
/// status (see `ExitCode+DeployLog.swift`).
struct CLIError: Error, CustomStringConvertible {
    var exitCode: ExitCode
    var message: String

    init(_ exitCode: ExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    static func usage(_ message: String) -> CLIError { CLIError(.usage, message) }
    static func badInput(_ message: String) -> CLIError { CLIError(.badInput, message) }
    static func notFound(_ message: String) -> CLIError { CLIError(.notFound, message) }

    /// A store error, with the exit status its code calls for.
    init(_ error: StoreError) {
        let code: ExitCode =
            switch error.code {
            case .conflict: .conflict
            case .corruption: .verificationFailed
            case .invalidRequest: .usage
            case .notFound: .notFound
            case .locked, .unavailable: .locked
            case .io: .internalError
            }
        self.init(code, error.message)
    }

    /// Any error from below, as the CLI reports it: its own errors as they are, store errors
    /// with their exit status, anything else as internal.
    init(wrapping error: any Error) {
        switch error {
        case let e as CLIError: self = e
        case let e as StoreError: self.init(e)
        default: self.init(.internalError, "\(error)")
        }
    }

    var description: String { message }
}
