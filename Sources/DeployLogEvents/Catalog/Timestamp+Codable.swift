/// A `timestamp` field of event data: exactly the canonical text `YYYY-MM-DDTHH:MM:SS.ffffffZ`
/// (UTC, six fraction digits), so that a timestamp has one spelling in the log.
///
/// Decoding anything else (another offset, fewer fraction digits, a lowercase `z`) fails;
/// producers normalise before they append.
extension Timestamp: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let t = Timestamp(iso8601: text), t.canonicalText == text else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "expected a UTC timestamp YYYY-MM-DDTHH:MM:SS.ffffffZ, found \"\(text)\"")
        }
        self = t
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(canonicalText)
    }
}
