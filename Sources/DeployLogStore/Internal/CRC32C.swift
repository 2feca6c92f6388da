internal import CDeployLogCRC

/// CRC-32C (Castagnoli), as used by iSCSI, ext4 and LevelDB record framing: the hardware
/// instruction where the processor has one (see `CDeployLogCRC`), a table otherwise.
/// The only file that uses that C target.
enum CRC32C {
    static func checksum(_ buf: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        deploylog_crc32c(seed, buf.baseAddress, buf.count)
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 { bytes.withUnsafeBytes { checksum($0) } }

    /// The table-driven fallback, whatever the processor.
    static func portableChecksum(_ buf: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        deploylog_crc32c_portable(seed, buf.baseAddress, buf.count)
    }
}
