import DeployLogPostgres
import Foundation
import XCTest

/// The throwaway cluster's clean-up of clusters abandoned by crashed test processes: it acts
/// only on folders of its own user (or, as root, of `postgres`), never on one another user
/// made in the shared temp folder, whose `postmaster.pid` could name any process.
final class LocalClusterTests: XCTestCase {
    func testStaleFoldersAreRemovedOnlyWhenTheyAreOurs() throws {
        guard !LocalPostgresCluster.findBinDirectory().isEmpty else {
            throw XCTSkip("no PostgreSQL server binaries")
        }
        let root = geteuid() == 0
        let base = root ? "/tmp" : FileManager.default.temporaryDirectory.path
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        func staleFolder() throws -> String {
            let folder = base + "/deploylog-pg-test" + UUID().uuidString.lowercased().prefix(8)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
            try String(dead.processIdentifier).write(toFile: folder + "/owner.pid", atomically: true, encoding: .utf8)
            return folder
        }
        let ours = try staleFolder()
        var others: [String] = []
        if root {
            // Another user's folder (nobody's), with a postmaster.pid naming this process.
            let other = try staleFolder()
            try FileManager.default.createDirectory(atPath: other + "/data", withIntermediateDirectories: false)
            try "\(getpid())\n".write(toFile: other + "/data/postmaster.pid", atomically: true, encoding: .utf8)
            XCTAssertEqual(chown(other, 65_534, 65_534), 0)
            others.append(other)
        }
        defer { for o in others { try? FileManager.default.removeItem(atPath: o) } }

        let cluster = try LocalPostgresCluster.start()
        defer { cluster.stop() }
        XCTAssertFalse(FileManager.default.fileExists(atPath: ours), "our abandoned folder was left")
        for o in others {
            XCTAssertTrue(FileManager.default.fileExists(atPath: o + "/owner.pid"), "another user's folder was touched")
        }
    }
}
