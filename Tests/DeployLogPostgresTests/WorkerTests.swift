import DeployLogPostgres
import DeployLogTestSupport
import XCTest

final class WorkerTests: PostgresTestCase {
    func testRunFromTasks() async throws {
        let url = try makeDatabase(prefix: "worker")
        let worker = try await PostgresWorker.connect(url)
        XCTAssertEqual(worker.address, url)
        try await worker.run { try $0.execute(script: "CREATE TABLE t (id int8 PRIMARY KEY, by_task int8)") }
        // Many tasks at once: the calls run one after another on the worker's queue.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for i in 0..<25 {
                        let id = Int64(task * 100 + i)
                        try await worker.run {
                            try $0.query("INSERT INTO t VALUES ($1, $2)", [.int8(id), .int8(Int64(task))])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let count = try await Task.detached {
            try await worker.run { try $0.query("SELECT count(*), count(DISTINCT by_task) FROM t")[0] }
        }.value
        XCTAssertEqual(try count.int64(0), 200)
        XCTAssertEqual(try count.int64(1), 8)
        // A transaction in one call.
        let inserted = try await worker.run { connection in
            try connection.transaction { tx in try tx.query("INSERT INTO t VALUES (1000, 0), (1001, 0)").affectedRows }
        }
        XCTAssertEqual(inserted, 2)
        // Errors come out as thrown.
        do {
            _ = try await worker.run { try $0.query("SELECT * FROM missing") }
            XCTFail("expected an error")
        } catch let error as PostgresError {
            XCTAssertEqual(error.sqlState, PostgresError.SQLState.undefinedTable)
        }
        await worker.close()
        do {
            _ = try await worker.run { $0.isOpen }
            XCTFail("expected an error after close")
        } catch let error as PostgresError {
            XCTAssertEqual(error.kind, .connection)
        }
    }

    func testConnectFailureIsThrown() async throws {
        do {
            _ = try await PostgresWorker.connect("postgresql://u:TopSecret@127.0.0.1:1/db")
            XCTFail("expected an error")
        } catch let error as PostgresError {
            XCTAssertEqual(error.kind, .connection)
            XCTAssertFalse(error.description.contains("TopSecret"))
        }
    }
}
