import ArgumentParser
import DeployLogStore

/// `deploylog init`: creates the store (idempotent).
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the store (does nothing to an existing one).",
        discussion: "Prints the store's path and its head position and hash.")

    @OptionGroup var storeOptions: StoreOptions

    func run() throws(CLIError) {
        let path = storeOptions.path
        let existed = storeOptions.storeExists
        let head: Checkpoint
        do {
            head = try FileStore.create(at: path).head()
        } catch {
            throw CLIError(error)
        }
        let what = existed ? "store already exists at" : "created store at"
        StandardOutput.shared.write("\(what) \(path): head \(head.position) \(head.hash)\n")
    }
}
