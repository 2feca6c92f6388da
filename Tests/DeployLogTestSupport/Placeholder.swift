// Store conformance suite lives here.
