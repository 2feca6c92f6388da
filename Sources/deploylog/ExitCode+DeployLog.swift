import ArgumentParser

// The exit statuses of `deploylog`, chosen from BSD's sysexits.h where one fits, so that
// scripts can tell what went wrong without reading the message:
//
//   0   ok
//   1   a migration or rollback step failed on the target database (its SQLSTATE and message,
//       and the file, in the error line); what ran before it is recorded. Also: a pipeline
//       failed or was rolled back; a blue-green deploy or switch failed (traffic left where it was)
//   64  usage error: an unknown or malformed option or argument, a bad --since/--until/--as-of
//       time, an unsupported --store address, no --database (EX_USAGE; also ArgumentParser's)
//   65  bad input data: malformed JSON or NDJSON on stdin, an invalid envelope, event data
//       that its catalog type refuses, a malformed checkpoint file, a malformed state point;
//       a bad migration file, a missing dependency or a dependency cycle; a rollback target
//       that is not a consistent point or a plan past a migration without rollback SQL
//       (EX_DATAERR)
//   66  not found: no store at the --store path, no event at the position asked for, a point
//       past the head, an unknown pipeline or environment, an unreadable checkpoint file, no
//       migration directory (EX_NOINPUT)
//   67  conflict: an append's expectedVersion does not match its stream; projected tables that
//       do not match the projectors; the log moved under a migrate or rollback run
//   68  verification failed: the hash chain, a checksum, framing or decompression is wrong,
//       or the log does not extend the given checkpoint; also corruption met while reading;
//       a migration file changed after it was applied (its checksum differs)
//   69  unavailable: the store is locked by another process, the database cannot be reached,
//       or another sink is writing the projected tables, or another deploy holds the target's
//       lock past --lock-timeout (EX_UNAVAILABLE)
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
    /// 69: the store is locked by another process, or the database is unreachable or busy.
    static let locked = ExitCode(69)
    /// 70: an internal or I/O error.
    static let internalError = ExitCode(70)
    /// 1: a migration or rollback step failed on the target database.
    static let stepFailed = ExitCode(1)

    /// The table above, for the `--help` discussion.
    static let documentation = """
        EXIT STATUS
          0   ok
          1   a migration or rollback step failed on the target database; a pipeline
              failed or was rolled back; a blue-green deploy or switch failed
          64  usage error (bad option or argument value, unsupported --store address,
              no --database)
          65  bad input data (malformed JSON/NDJSON, invalid envelope or event data,
              malformed checkpoint file, malformed state point, bad migration file,
              missing dependency or cycle, inconsistent rollback target, no rollback SQL)
          66  store not found, no such position, point past the head, unknown pipeline
              or environment, or unreadable checkpoint file
          67  conflict: an expectedVersion did not match its stream, projected tables
              that do not match the projectors, or the log moved under a deploy
          68  verification failed, corruption found while reading, or a migration
              file changed after it was applied
          69  unavailable: store locked by another process, database unreachable,
              another sink writing the projected tables, or the target's deploy lock
              held past --lock-timeout
          70  internal or I/O error
        Errors are one line on stderr starting with "deploylog: ".
        """
}
