#!/usr/bin/env python3
"""Recompute and check the hash chain of a deploylog export, without deploylog.

    deploylog log --format ndjson | python3 verify-chain.py [--checkpoint FILE]

Reads one event per line (NDJSON) from stdin. For each event, C is the canonical JSON of the
event without its "hash" key, and h_n = SHA-256(h_(n-1) + C_n), starting from 32 zero bytes;
the event's "hash" must be the lowercase hex of h_n, and positions must run 1, 2, 3, ...
On success prints "head <position> <hash>" and exits 0. On the first bad event prints
"bad position <N>: <reason>" to stderr and exits 1. Usage errors exit 2.

--checkpoint FILE takes a checkpoint {"position": N, "hash": "<hex>"} (deploylog checkpoint):
the export must contain event N with that hash. An export may also start right after the
checkpoint (first position N + 1): the chain then continues from the checkpoint's hash.
"""
import argparse
import hashlib
import json
import sys


def canonical(event):
    """The bytes that are hashed: sorted keys, no whitespace, UTF-8, no ASCII escaping."""
    body = {k: v for k, v in event.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def is_hex64(s):
    return isinstance(s, str) and len(s) == 64 and all(c in "0123456789abcdef" for c in s)


def is_position(n):
    return isinstance(n, int) and not isinstance(n, bool)


def fail(position, reason):
    print(f"bad position {position}: {reason}", file=sys.stderr)
    sys.exit(1)


def read_checkpoint(path):
    try:
        with open(path, "rb") as f:
            cp = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        print(f"checkpoint {path}: {e}", file=sys.stderr)
        sys.exit(2)
    if not isinstance(cp, dict) or not is_position(cp.get("position")) or cp["position"] < 1 \
            or not is_hex64(cp.get("hash")):
        print(f'checkpoint {path}: expected {{"position": N, "hash": "<64 lowercase hex digits>"}}',
              file=sys.stderr)
        sys.exit(2)
    return cp["position"], cp["hash"]


def main():
    parser = argparse.ArgumentParser(description="Check the hash chain of a deploylog NDJSON export (stdin).")
    parser.add_argument("--checkpoint", metavar="FILE", help='a checkpoint {"position": N, "hash": "..."} to check')
    args = parser.parse_args()
    checkpoint = read_checkpoint(args.checkpoint) if args.checkpoint else None

    head = bytes(32)  # h0
    position = 0
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        expected = position + 1
        try:
            event = json.loads(line.decode("utf-8"))
        except ValueError as e:
            fail(expected, f"not a JSON line: {e}")
        if not isinstance(event, dict):
            fail(expected, "not a JSON object")
        found = event.get("position")
        if not is_position(found):
            fail(expected, '"position" is missing or not an integer')
        if position == 0 and checkpoint and found == checkpoint[0] + 1:
            # The export starts right after the checkpoint: continue its chain.
            position, head = checkpoint[0], bytes.fromhex(checkpoint[1])
            expected = found
        if found != expected:
            fail(expected, f"found position {found} (positions run from 1 with no gaps)")
        recorded = event.get("hash")
        if not is_hex64(recorded):
            fail(expected, '"hash" is missing or not 64 lowercase hex digits')
        try:
            body = canonical(event)
        except (TypeError, ValueError) as e:  # e.g. a lone surrogate cannot be UTF-8
            fail(expected, f"cannot be encoded canonically: {e}")
        digest = hashlib.sha256(head + body).digest()
        if digest.hex() != recorded:
            fail(expected, f"hash mismatch: recorded {recorded}, computed {digest.hex()}")
        if checkpoint and expected == checkpoint[0] and recorded != checkpoint[1]:
            fail(expected, f"does not extend the checkpoint: its hash is {recorded}, the checkpoint's {checkpoint[1]}")
        head, position = digest, expected

    if checkpoint and position < checkpoint[0]:
        fail(position + 1, f"export ends at position {position}, before checkpoint position {checkpoint[0]}")
    print(f"head {position} {head.hex()}")
    if checkpoint:
        print(f"checkpoint {checkpoint[0]} extended")


if __name__ == "__main__":
    main()
