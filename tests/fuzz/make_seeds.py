#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (corpus/<target>/seed-*) from the captured RocketMQ frames and
the RocketMQ-written fixture stores in tests/fixtures, plus a few hand-made inputs for shapes the captures lack
(a binary-header frame, a producer batch). Deterministic; run from anywhere. Inputs that once crashed a target
live next to the seeds as crash-* files and are not touched."""
import json
import pathlib
import struct
import zlib

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
WIRE = FIXTURES / "wire"
STORES = [FIXTURES / "rocketmq-4.9.8-store", FIXTURES / "rocketmq-5-store"]


def put(target, name, data):
    d = HERE / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + name)).write_bytes(data)


def split_frame(frame):
    length, word = struct.unpack(">ii", frame[:8])
    hlen = word & 0xFFFFFF
    return word >> 24, frame[8:8 + hlen], frame[8 + hlen:4 + length]


def record_size(buf, pos):
    return struct.unpack(">i", buf[pos:pos + 4])[0]


def records(seg, limit):
    """(pos, bytes) of the first `limit` records of a segment."""
    out, pos = [], 0
    while len(out) < limit and pos + 8 <= len(seg):
        size = record_size(seg, pos)
        magic = struct.unpack(">I", seg[pos + 4:pos + 8])[0]
        if size <= 0 or magic not in (0xDAA320A7, 0xDAA320AB):
            break
        out.append((pos, seg[pos:pos + size]))
        pos += size
    return out


def properties_of(rec):
    magic = struct.unpack(">I", rec[4:8])[0]
    pos = 4 + 4 + 4 + 4 + 4 + 8 + 8
    sys_flag = struct.unpack(">i", rec[pos:pos + 4])[0]
    pos += 4 + 8
    pos += 20 if sys_flag & 0x10 else 8  # born host
    pos += 8
    pos += 20 if sys_flag & 0x20 else 8  # store host
    pos += 4 + 8
    body_len = struct.unpack(">i", rec[pos:pos + 4])[0]
    pos += 4 + body_len
    if magic == 0xDAA320AB:
        topic_len = struct.unpack(">h", rec[pos:pos + 2])[0]
        pos += 2
    else:
        topic_len = rec[pos]
        pos += 1
    pos += topic_len
    prop_len = struct.unpack(">h", rec[pos:pos + 2])[0]
    return rec[pos + 2:pos + 2 + prop_len]


def batch_entry(flag, body, props):
    total = 22 + len(body) + len(props)
    return struct.pack(">iiiii", total, 0, 0, flag, len(body)) + body + struct.pack(">h", len(props)) + props


def binary_frame(code, opaque, flag, remark, ext):
    h = struct.pack(">hbhii", code, 0, 317, opaque, flag)
    r = remark.encode()
    h += struct.pack(">i", len(r)) + r
    e = b""
    for k, v in ext.items():
        e += struct.pack(">h", len(k)) + k.encode() + struct.pack(">i", len(v)) + v.encode()
    h += struct.pack(">i", len(e)) + e
    body = b"hello"
    return struct.pack(">ii", 4 + len(h) + len(body), (1 << 24) | len(h)) + h + body


def main():
    pairs = json.loads((WIRE / "pairs.json").read_text())
    frames = sorted(p for p in WIRE.glob("*.bin") if p.stat().st_size <= 4096)
    for p in frames:
        data = p.read_bytes()
        put("frame", p.stem, data)
        stype, header, body = split_frame(data)
        if stype == 0:
            put("json_header", p.stem, header)
    put("frame", "binary-header", binary_frame(10, 7, 0, "remark", {"topic": "T", "queueId": "3"}))

    by_name = {}
    for pair in pairs:
        for side in ("req", "resp"):
            if pair.get(side):
                by_name[pair[side]] = (pair["server"], pair["requestCode"], side)
    for p in sorted(WIRE.glob("*.bin")):
        server, code, side = by_name.get(p.name, (None, None, None))
        _, header, body = split_frame(p.read_bytes())
        if server != "namesrv" or not body:
            continue
        if code == 105 and side == "resp":
            put("route_body", p.stem, b"\x00" + body)
        elif code == 106 and side == "resp":
            put("route_body", p.stem, b"\x01" + body)
        elif code == 103 and side == "req":
            put("route_body", p.stem, (b"\x04" if body[:1] == b"\x78" else b"\x03") + body)
    put("route_body", "topic-list", b"\x02" + b'{"brokerAddr":"127.0.0.1:10911","topicList":["A","B"]}')
    put("route_body", "topic-config",
        b"\x05" + b'{"attributes":{"+message.type":"NORMAL"},"order":false,"perm":6,"readQueueNums":4,'
        b'"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":4}')
    register = json.dumps({"filterServerList": [], "topicConfigSerializeWrapper": {
        "dataVersion": {"counter": 3, "stateVersion": 0, "timestamp": 1700000000000},
        "topicConfigTable": {"T": {"topicName": "T", "readQueueNums": 4, "writeQueueNums": 4, "perm": 6}}}},
        separators=(",", ":")).encode()
    put("route_body", "register-plain", b"\x03" + register)
    packed = b""
    dv = b'{"counter":3,"stateVersion":0,"timestamp":1700000000000}'
    packed += struct.pack(">i", len(dv)) + dv + struct.pack(">i", 1)
    t = b"T 4 4 6 SINGLE_TAG"
    packed += struct.pack(">i", len(t)) + t
    fl = b"[]"
    packed += struct.pack(">i", len(fl)) + fl
    put("route_body", "register-compressed", b"\x04" + zlib.compress(packed, 9))

    for store in STORES:
        tag = "v4" if "4.9.8" in store.name else "v5"
        seg = (store / "commitlog" / "00000000000000000000").read_bytes()
        recs = records(seg, 3)
        put("record", tag + "-one", recs[0][1])
        put("record", tag + "-three", b"".join(r for _, r in recs))
        # The end of the first segment: the last record and the blank END_FILE marker.
        last = records(seg, 10**6)[-1]
        put("record", tag + "-segment-end", seg[last[0]:last[0] + len(last[1]) + 8])
        for i, (_, rec) in enumerate(recs):
            put("properties", tag + "-" + str(i), properties_of(rec))
        put("batch", tag + "-from-records",
            b"".join(batch_entry(i, rec[-40:-30], properties_of(rec)) for i, (_, rec) in enumerate(recs)))
        # Recovery: the first records of the segment (up to 12 KiB) and the units of SampleTopicA/0 that
        # point into them.
        keep = 0
        for pos, rec in records(seg, 10**6):
            if pos + len(rec) > 12 * 1024:
                break
            keep = pos + len(rec)
        cq = (store / "consumequeue" / "SampleTopicA" / "0" / "00000000000000000000").read_bytes()
        units = b""
        for i in range(0, len(cq), 20):
            phys, size = struct.unpack(">qi", cq[i:i + 12])
            if size <= 0 or phys + size > keep:
                break
            units += cq[i:i + 20]
        for flags, name in ((0, "-clean"), (1, "-abort"), (4, "-clean-rebuild"), (5, "-abort-rebuild")):
            put("recovery", tag + name, bytes([flags]) + struct.pack(">H", keep) + seg[:keep] + units)
    put("batch", "two-entries",
        batch_entry(0, b"body-1", b"KEYS\x01k1\x02UNIQ_KEY\x01AC1100\x02") +
        batch_entry(1, b"", b"TAGS\x01T\x02"))
    conf = (HERE.parent.parent / "packaging" / "broker.conf.in").read_bytes()
    put("config", "broker-conf", conf)
    put("config", "store-keys",
        b"storePathRootDir=/data/store\nmappedFileSizeCommitLog=1048576\nflushDiskType=SYNC_FLUSH\n"
        b"fileReservedTime = 48\n! comment\ndeleteWhen: 04\\\n  ;05\nmaxMessageSize=4194304\n")
    put("broker_config", "broker-conf", conf)
    put("broker_config", "broker-keys",
        b"brokerName=broker-a\nbrokerClusterName=DefaultCluster\nbrokerId=0\n"
        b"namesrvAddr= 127.0.0.1:9876 ;;10.0.0.2:9876; \nlistenPort=10911\ndefaultTopicQueueNums=8\n"
        b"registerNameServerPeriod=5000\nmetricsExporterType=PROM\nmetricsPromExporterPort=5557\n"
        b"tls.server.mode=permissive\ntls.server.certPath=/etc/cert.pem\ntls.server.keyPath=/etc/key.pem\n"
        b"tls.server.need.client.auth=optional\nserverChannelMaxIdleTimeSeconds=120\n")
    # HEART_BEAT bodies: the Java client's (captured) and the C++ client's shapes (enum ordinals,
    # subVersion as a string, no tagsSet/codeSet), SQL92 and an odd tag expression.
    for f in sorted(WIRE.glob("*.req.bin")):
        _, _, body = split_frame(f.read_bytes())
        if b"consumerDataSet" in body:
            put("heartbeat", f.name.replace(".req.bin", ""), body)
    put("heartbeat", "cpp-client", json.dumps({
        "clientID": "127.0.0.1@4242", "producerDataSet": [{"groupName": "PG"}],
        "consumerDataSet": [{"groupName": "CG", "consumeType": 1, "messageModel": 1, "consumeFromWhere": 4,
                             "subscriptionDataSet": [{"topic": "T", "subString": " a || b ||", "subVersion": "17"}]}],
    }).encode())
    put("heartbeat", "sql92", json.dumps({
        "clientID": "c", "consumerDataSet": [{"groupName": "CG", "consumeType": "CONSUME_PASSIVELY",
            "subscriptionDataSet": [{"topic": "T", "expressionType": "SQL92", "subString": " a > 1 "},
                                    {"topic": "U", "expressionType": "TAG", "subString": "*"}]}],
    }).encode())


if __name__ == "__main__":
    main()
