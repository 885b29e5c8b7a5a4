"""Reads a medlink session recording (docs/recording.md) with the independent Python `mcap`
package and checks what the format promises: the two channels of the role with their json and
jsonschema encodings, message counts per channel equal to what the recorder said, every payload is
JSON in its envelope, log_time never decreases in file order and equals the envelope's now_ns,
input indices count up from 0 across parts, every input's CRC-64/ECMA-182 matches its bytes, and
the MCAP CRCs hold.

Usage: test_recording.py --role station --inputs N --outputs M PART [PART ...]
Exits 0 and prints one JSON line of figures, or exits 1 with the first problem.
"""

import argparse
import json
import sys

from mcap.reader import make_reader
from mcap.stream_reader import StreamReader

# CRC-64/ECMA-182: polynomial 0x42F0E1EBA9EA3693, not reflected, init 0, no final xor.
POLY = 0x42F0E1EBA9EA3693
MASK = (1 << 64) - 1
TABLE = []
for byte in range(256):
    crc = byte << 56
    for _ in range(8):
        crc = ((crc << 1) ^ POLY) & MASK if crc & (1 << 63) else (crc << 1) & MASK
    TABLE.append(crc)


def crc64(data: bytes) -> int:
    crc = 0
    for b in data:
        crc = TABLE[((crc >> 56) ^ b) & 0xFF] ^ ((crc << 8) & MASK)
    return crc


assert crc64(b"123456789") == 0x6C40DF5F0B497347, "CRC-64/ECMA-182 check value"


def fail(message: str) -> None:
    print(f"test_recording.py: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition: bool, message: str) -> None:
    if not condition:
        fail(message)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", required=True, choices=["station", "console"])
    parser.add_argument("--inputs", type=int, required=True)
    parser.add_argument("--outputs", type=int, required=True)
    parser.add_argument("parts", nargs="+")
    args = parser.parse_args()

    input_topic, output_topic = f"/{args.role}/input", f"/{args.role}/output"
    counts = {input_topic: 0, output_topic: 0}
    next_index = 0
    last_input = None
    last_log_time = 0
    session = None

    for number, path in enumerate(args.parts, start=1):
        with open(path, "rb") as f:
            reader = make_reader(f, validate_crcs=True)
            summary = reader.get_summary()
            check(summary is not None, f"{path}: no summary section")
            topics = {c.topic: c for c in summary.channels.values()}
            check(
                set(topics) == {input_topic, output_topic},
                f"{path}: channels {sorted(topics)}",
            )
            for topic, channel in topics.items():
                check(channel.message_encoding == "json", f"{topic}: {channel.message_encoding}")
                schema = summary.schemas[channel.schema_id]
                check(schema.encoding == "jsonschema", f"{topic}: schema {schema.encoding}")
                document = json.loads(schema.data)
                check(document.get("type") == "object", f"{topic}: schema is not an object")
            stats = summary.statistics
            per_channel = {
                summary.channels[cid].topic: n
                for cid, n in stats.channel_message_counts.items()
            }

            metadata = {m.name: m.metadata for m in reader.iter_metadata()}
            check("session" in metadata and "end" in metadata, f"{path}: {sorted(metadata)}")
            if session is None:
                session = metadata["session"]
                check(session.get("role") == args.role, f"{path}: role {session.get('role')}")
                json.loads(session["config"])
            else:
                check(metadata["session"] == session, f"{path}: another session's part")
            end = metadata["end"]
            check(end.get("dropped") == "0", f"{path}: dropped {end.get('dropped')}")
            check(end.get("part") == str(number), f"{path}: part {end.get('part')}")
            last = number == len(args.parts)
            check(
                end.get("continued") == ("false" if last else "true"),
                f"{path}: continued {end.get('continued')}",
            )

            in_file = {input_topic: 0, output_topic: 0}
            for _schema, channel, message in reader.iter_messages(log_time_order=False):
                where = f"{path}: {channel.topic} sequence {message.sequence}"
                check(message.log_time >= last_log_time, f"{where}: log_time goes back")
                last_log_time = message.log_time
                envelope = json.loads(message.data)
                check(isinstance(envelope, dict), f"{where}: not an object")
                check(envelope["now_ns"] == message.log_time, f"{where}: now_ns != log_time")
                if channel.topic == input_topic:
                    check(
                        set(envelope) == {"index", "now_ns", "input", "crc"},
                        f"{where}: {sorted(envelope)}",
                    )
                    check(envelope["index"] == next_index, f"{where}: index {envelope['index']}")
                    check(message.sequence == next_index % 2**32, f"{where}: sequence")
                    check(isinstance(envelope["input"].get("input"), str), f"{where}: no tag")
                    # The input's bytes as written: between `"input":` and `,"crc":"<16 hex>"}`.
                    start = message.data.index(b'"input":') + len(b'"input":')
                    raw = message.data[start : -len(b',"crc":"0123456789abcdef"}')]
                    check(
                        f"{crc64(raw):016x}" == envelope["crc"],
                        f"{where}: CRC {envelope['crc']} != {crc64(raw):016x}",
                    )
                    check(json.loads(raw) == envelope["input"], f"{where}: input bytes")
                    last_input = next_index
                    next_index += 1
                else:
                    check(
                        set(envelope) == {"input_index", "now_ns", "output"},
                        f"{where}: {sorted(envelope)}",
                    )
                    check(envelope["input_index"] == last_input, f"{where}: input_index")
                    check(isinstance(envelope["output"].get("output"), str), f"{where}: no tag")
                in_file[channel.topic] += 1
            for topic, n in in_file.items():
                check(
                    per_channel.get(topic, 0) == n,
                    f"{path}: statistics say {per_channel} for {in_file}",
                )
                counts[topic] += n
            check(
                int(end["inputs"]) == counts[input_topic]
                and int(end["outputs"]) == counts[output_topic],
                f"{path}: end record {end} for {counts}",
            )

        # The data-section and summary CRCs, through the stream reader that checks them.
        with open(path, "rb") as f:
            for _ in StreamReader(f, validate_crcs=True).records:
                pass

    check(
        counts == {input_topic: args.inputs, output_topic: args.outputs},
        f"counts {counts}, the recorder said {args.inputs} inputs and {args.outputs} outputs",
    )
    print(
        json.dumps(
            {
                "parts": len(args.parts),
                "inputs": counts[input_topic],
                "outputs": counts[output_topic],
                "last_log_time": last_log_time,
            }
        )
    )


if __name__ == "__main__":
    main()
