import ArgumentParser

// The exit statuses of `deploylog`, chosen from BSD's sysexits.h where one fits, so that
// scripts can tell what went wrong without reading the message:
//
//   0   ok
//   64  usage error: an unknown or malformed option or argument, a bad --since/--until time,
//       an unsupported --store address (EX_USAGE; also what ArgumentParser uses)
//   65  bad input data: malformed JSON or NDJSON on stdin, an invalid envelope, event data
//       that its catalog type refuses, a malformed checkpoint file (EX_DATAERR)
//   66  not found: no store at the --store path, no event at the position asked for, an
//       unreadable checkpoint file (EX_NOINPUT)
//   67  conflict: an append's expectedVersion does not match its stream
//   68  verification failed: the hash chain, a checksum, framing or decompression is wrong,
//       or the log does not extend the given checkpoint; also corruption met while reading
//   69  the store is locked by another process (EX_UNAVAILABLE)
//   70  internal or I/O error (EX_SOFTWARE)
//
// Every error is one line on stderr that starts with `deploylog: `.

extension ExitCode {
    /// 64: a bad option or argument value.
    static let usage = ExitCode(64)
    /// 65: malformed input (JSON, NDJSON, envelope, event data, checkpoint file).
    static let badInput = ExitCode(65)
    /// 66: no store, no such position, no such file.
    static let notFound = ExitCode(66)
    /// 67: a wrong expected version.
    static let conflict = ExitCode(67)
    /// 68: verification failed or corruption found.
    static let verificationFailed = ExitCode(68)
    /// 69: the store is locked by another process.
    static let locked = ExitCode(69)
    /// 70: an internal or I/O error.
    static let internalError = ExitCode(70)

    /// The table above, for the `--help` discussion.
    static let documentation = """
        EXIT STATUS
          0   ok
          64  usage error (bad option or argument value, unsupported --store address)
          65  bad input data (malformed JSON/NDJSON, invalid envelope or event data,
              malformed checkpoint file)
          66  store not found, no such position, or unreadable checkpoint file
          67  conflict: an expectedVersion did not match its stream
          68  verification failed, or corruption found while reading
          69  store locked by another process
          70  internal or I/O error
        Errors are one line on stderr starting with "deploylog: ".
        """
}
