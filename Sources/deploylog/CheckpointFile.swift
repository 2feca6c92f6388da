import DeployLogEvents
import DeployLogStore
import Foundation

/// The checkpoint JSON that `checkpoint` prints and `verify --checkpoint` reads.
enum CheckpointFile {
    /// `{"hash":"…","position":N}`, canonical.
    static func json(_ c: Checkpoint) -> String {
        JSONValue.object(JSONObject([("hash", .string(c.hash)), ("position", .number(JSONNumber(c.position)))]))
            .canonicalString
    }

    /// Reads the checkpoint in the file at `path`.
    static func read(_ path: String) throws(CLIError) -> Checkpoint {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .notFound("cannot read checkpoint file \(path)")
        }
        let value: JSONValue
        do { value = try JSONParser.parse([UInt8](data)) } catch {
            throw .badInput("checkpoint file \(path): invalid JSON at byte \(error.offset): \(error.message)")
        }
        guard case .object(let o) = value,
            case .number(let n)? = o["position"], let position = n.int64Value, position >= 0,
            case .string(let hash)? = o["hash"], hash.utf8.count == 64,
            hash.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else {
            throw .badInput(
                "checkpoint file \(path): expected {\"hash\":\"<64 lowercase hex digits>\",\"position\":N} as `deploylog checkpoint` prints it"
            )
        }
        return Checkpoint(position: position, hash: hash)
    }
}
