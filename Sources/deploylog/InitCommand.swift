import ArgumentParser
import DeployLogPostgresStore
import DeployLogStore

/// `deploylog init`: creates the store (idempotent).
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the store (does nothing to an existing one).",
        discussion: "Prints the store's path and its head position and hash.")

    @OptionGroup var storeOptions: StoreOptions

    func run() throws(CLIError) {
        let address = storeOptions.address
        var existed = storeOptions.storeExists
        if storeOptions.isPostgres {
            do {
                _ = try PostgresStore.open(url: address)
                existed = true
            } catch  where error.code == .notFound {
                existed = false
            } catch {
                throw CLIError(error)
            }
        }
        let head: Checkpoint
        do {
            head = try StoreOptions.create(address).head()
        } catch {
            throw CLIError(wrapping: error)
        }
        let what = existed ? "store already exists at" : "created store at"
        StandardOutput.shared.write("\(what) \(storeOptions.displayAddress): head \(head.position) \(head.hash)\n")
    }
}
