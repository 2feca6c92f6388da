/// A `timestamp` field of event data: any RFC 3339 date-time (`Z` or an offset, up to
/// microsecond precision), as producers such as git write them; the log keeps the producer's
/// text unchanged, and encoding writes the canonical `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
extension Timestamp: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let t = Timestamp(iso8601: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "expected an RFC 3339 time such as 2026-11-20T10:15:02.120Z, found \"\(text)\"")
        }
        self = t
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(canonicalText)
    }
}
