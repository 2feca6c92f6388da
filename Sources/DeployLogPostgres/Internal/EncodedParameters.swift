/// Statement parameters in the shape `PQexecParams` wants: one buffer holding every value's
/// binary form, with each value's offset (-1 for NULL), length, type OID and format (binary).
struct EncodedParameters {
    private(set) var types: [UInt32] = []
    private var bytes: [UInt8] = []
    private var offsets: [Int] = []
    private var lengths: [Int32] = []

    var count: Int { offsets.count }

    /// Encodes `values`, each as the matching type in `declared` when given (a prepared
    /// statement's parameter types), else as its own type.
    init(_ values: [PostgresValue], declared: [PostgresType]? = nil) throws {
        if let declared, declared.count != values.count {
            throw PostgresError(.client, "the statement takes \(declared.count) parameters, \(values.count) given")
        }
        types.reserveCapacity(values.count)
        offsets.reserveCapacity(values.count)
        lengths.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            let target = declared?[index] ?? value.type
            types.append(target.oid)
            if value.isNull {
                offsets.append(-1)
                lengths.append(0)
                continue
            }
            let start = bytes.count
            do {
                try value.appendBinary(as: target, to: &bytes)
            } catch var error as PostgresError {
                error.message = "parameter $\(index + 1): " + error.message
                throw error
            }
            guard let length = Int32(exactly: bytes.count - start) else {
                throw PostgresError(.client, "parameter $\(index + 1): \(bytes.count - start) bytes is too large")
            }
            offsets.append(start)
            lengths.append(length)
        }
        // A non-NULL value must have a non-null pointer, even when it is empty.
        bytes.append(0)
    }

    /// Calls `body` with the count and the C arrays (types, value pointers, lengths, formats),
    /// valid only during the call.
    func withCArrays<R>(
        _ body: (
            Int32, UnsafePointer<UInt32>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?,
            UnsafePointer<Int32>?
        ) -> R
    ) -> R {
        let formats = [Int32](repeating: 1, count: count)
        return bytes.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            let pointers: [UnsafePointer<CChar>?] = offsets.map {
                $0 < 0 ? nil : (base + $0).assumingMemoryBound(to: CChar.self)
            }
            return types.withUnsafeBufferPointer { types in
                pointers.withUnsafeBufferPointer { pointers in
                    lengths.withUnsafeBufferPointer { lengths in
                        formats.withUnsafeBufferPointer { formats in
                            body(
                                Int32(count), types.baseAddress, pointers.baseAddress, lengths.baseAddress,
                                formats.baseAddress)
                        }
                    }
                }
            }
        }
    }
}
