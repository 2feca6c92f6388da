// deploylog-bench: throughput and size figures of the embedded file store over a
// deterministic, realistic workload (`SampleHistory`). Run it in release mode:
//
//     swift run -c release deploylog-bench [--quick] [--filter NAME] [--reps N] [--events N]
//     swift run -c release deploylog-bench --emit-sample PIPELINES [--seed S] > history.ndjson
//
// stdout holds only `name value unit` lines (medians of the repetitions); progress and notes go
// to stderr. Every repetition works in a fresh directory under /tmp, removed afterwards.

#if canImport(Glibc)
    import Glibc
#endif

exit(BenchCommand.main(Array(CommandLine.arguments.dropFirst())))
