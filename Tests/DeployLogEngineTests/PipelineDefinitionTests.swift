import DeployLogEngine
import DeployLogEvents
import Foundation
import Testing

/// Pipeline files: what a good one reads as, and one clear line (file, line, field) for a bad one.
@Suite struct PipelineDefinitionTests {
    func parse(_ yaml: String, base: String = "/tmp") throws(EngineError) -> PipelineDefinition {
        try PipelineDefinition.parse(yaml: yaml, file: "deploy.yaml", baseDirectory: base)
    }

    /// The message of the error parsing `yaml` throws.
    func failure(_ yaml: String, base: String = "/tmp") -> String? {
        do {
            _ = try parse(yaml, base: base)
            return nil
        } catch {
            #expect(error.code == .badInput)
            #expect(!error.message.contains("\n"))
            return error.message
        }
    }

    @Test func aGoodFileReadsAsItsStagesInOrder() throws {
        let base = FileManager.default.temporaryDirectory.path + "/deploylog-yaml-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: base + "/migrations", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        let d = try parse(
            """
            name: camera-counting-db
            version: 1.3.0
            environment: staging
            git: {commit: 9f1c2ab, branch: main, committedAt: "2026-11-20T09:12:00Z"}
            stages:
              - name: Build
                type: build
                run: swift build
                timeout: 90
              - name: Deploy
                type: deploy
                migrate: migrations
              - name: Health
                type: validate
                healthCheck:
                  query: SELECT count(*) FROM cameras
                  slowStatementMs: 250
              - name: Quick health
                type: validate
                healthCheck: true
              - name: Switch
                type: deploy
                switch: camera-counting-prod
            """, base: base)
        #expect(d.name == "camera-counting-db")
        #expect(d.version == "1.3.0")
        #expect(d.environment == "staging")
        #expect(d.gitCommit == "9f1c2ab")
        #expect(d.gitBranch == "main")
        #expect(d.gitCommittedAt == Timestamp(iso8601: "2026-11-20T09:12:00Z"))
        #expect(d.stages.map(\.name) == ["Build", "Deploy", "Health", "Quick health", "Switch"])
        #expect(d.stages.map(\.type) == [.build, .deploy, .validate, .validate, .deploy])
        #expect(d.stages[0].step == .run(command: "swift build", timeoutSeconds: 90))
        #expect(d.stages[1].step == .migrate(.directory(base + "/migrations")))
        #expect(
            d.stages[2].step
                == .healthCheck(HealthCheckOptions(query: "SELECT count(*) FROM cameras", slowStatementMs: 250)))
        #expect(d.stages[3].step == .healthCheck(HealthCheckOptions()))
        #expect(d.stages[4].step == .switchTraffic(pair: "camera-counting-prod"))
        #expect(d.config["stages"]?.arrayValue?.count == 5)
    }

    @Test func badFilesNameTheLineAndTheField() {
        let header = "name: p\nversion: 1\nenvironment: staging\n"
        #expect(failure("name: p\nversion: [1\n")?.hasPrefix("deploy.yaml:3:1: YAML syntax error") == true)
        #expect(failure("") == "deploy.yaml:1: the file is empty (expected a pipeline mapping)")
        #expect(failure("- a\n- b\n") == "deploy.yaml:1: pipeline: expected a mapping, found a list")
        #expect(failure("name: p\nversion: 1\nstages: []\n") == "deploy.yaml:1: environment: missing required field")
        #expect(failure(header + "stages: []\n") == "deploy.yaml:4: stages: expected a non-empty list of stages")
        #expect(
            failure(header + "colour: blue\nstages: []\n")
                == "deploy.yaml:4: colour: unknown field (expected one of name, version, environment, triggeredBy, git, stages)"
        )
        #expect(
            failure(
                header
                    + "stages:\n  - name: a\n    type: deploy\n    run: x\n  - name: b\n    type: deploy-ish\n    run: y\n"
            )
                == "deploy.yaml:9: stages[1].type: expected build, test, deploy or validate, found 'deploy-ish'")
        #expect(
            failure(header + "stages:\n  - name: a\n    type: test\n")
                == "deploy.yaml:5: stages[0]: a stage needs one step: run, migrate, healthCheck or switch")
        #expect(
            failure(header + "stages:\n  - name: a\n    type: test\n    run: x\n    switch: y\n")
                == "deploy.yaml:5: stages[0]: a stage has exactly one step, found run and switch")
        #expect(
            failure(header + "stages:\n  - name: a\n    type: test\n    run: x\n    timeout: soon\n")
                == "deploy.yaml:8: stages[0].timeout: expected a number of seconds between 0 and 86400, found 'soon'")
        #expect(
            failure(
                header + "stages:\n  - name: a\n    type: test\n    run: x\n  - name: a\n    type: test\n    run: y\n")
                == "deploy.yaml:8: stages[1].name: a stage named 'a' comes earlier; stage names must be unique")
        #expect(
            failure(header + "stages:\n  - name: a\n    type: deploy\n    migrate: no-such-dir\n", base: "/nonexistent")
                == "deploy.yaml:7: stages[0].migrate: no migration directory at /nonexistent/no-such-dir")
        #expect(
            failure(header + "git: {committedAt: yesterday}\nstages: []\n")
                == "deploy.yaml:4: git.committedAt: expected an RFC 3339 time such as 2026-11-20T09:12:00Z, found 'yesterday'"
        )
        #expect(
            failure(header + "stages:\n  - name: a\n    type: validate\n    healthCheck: {query: [1]}\n")
                == "deploy.yaml:7: stages[0].healthCheck.query: expected a string, found a list")
    }
}
