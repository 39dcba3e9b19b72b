#include "message/commit_log_format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/crc32.h"
#include "common/hex.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "tests/support/test_util.h"

namespace thruster::message {
namespace {

std::span<const std::byte> Bytes(const std::string& s) {
  return AsBytes(std::string_view(s));
}

// Store spec Appendix A.1, written out byte for byte.
const std::string kAppendixA1 = testing::BytesFromHex(
    "00 00 00 6B DA A3 20 A7 36 10 A6 86 00 00 00 03"
    "00 00 00 00 00 00 00 00 00 00 00 07 00 00 00 00"
    "40 00 00 00 00 00 00 00 00 00 01 8B CF E5 68 00"
    "C0 A8 00 0A 00 00 C3 50 00 00 01 8B CF E5 68 7B"
    "C0 A8 00 01 00 00 2A 9F 00 00 00 00 00 00 00 00"
    "00 00 00 00 00 00 00 05 68 65 6C 6C 6F 01 54 00"
    "0A 54 41 47 53 01 54 61 67 41 02");

class CommitLogFormatTest : public ::testing::Test {
 protected:
  // The message of Appendix A.1.
  MessageToStore A1() {
    MessageToStore m;
    m.topic = "T";
    m.queue_id = 3;
    m.body = AsBytes(body_);
    m.properties = properties_;
    m.born_timestamp = 1700000000000;
    m.born_host = HostAddress::V4(192, 168, 0, 10, 50000);
    m.store_host = HostAddress::V4(192, 168, 0, 1, 10911);
    return m;
  }

  // Encodes and patches the in-lock fields as the put lock would.
  std::string Encode(const MessageToStore& m, int64_t queue_offset = 7,
                     int64_t phys_offset = 1073741824,
                     int64_t store_ts = 1700000000123) {
    std::string out;
    Result<int32_t> size = EncodeRecord(m, kMaxMessageSize, &out);
    EXPECT_TRUE(size.ok()) << size.status().ToString();
    if (!size.ok()) return out;
    EXPECT_EQ(*size, static_cast<int32_t>(out.size()));
    PatchInLockFields(reinterpret_cast<std::byte*>(out.data()), queue_offset,
                      phys_offset, store_ts);
    return out;
  }

  // CheckRecord over a heap copy sized exactly to `n` bytes, so ASan catches
  // any read past the span. The copy lives until the next call, so the returned
  // views stay valid.
  RecordCheck CheckPrefix(const std::string& rec, size_t n,
                          bool check_crc = true) {
    copy_.assign(n, std::byte{0});
    if (n > 0) std::memcpy(copy_.data(), rec.data(), n);
    return CheckRecord(copy_, check_crc);
  }

  static constexpr int32_t kMaxMessageSize = 4 * 1024 * 1024;
  std::string body_ = "hello";
  std::string properties_ = EncodeProperties({{"TAGS", "TagA"}});
  std::vector<std::byte> copy_;
};

TEST_F(CommitLogFormatTest, EncodesAppendixA1ByteForByte) {
  ASSERT_EQ(RecordSize(A1()), 107);
  EXPECT_EQ(Encode(A1()), kAppendixA1);
}

TEST_F(CommitLogFormatTest, EncodeLeavesInLockFieldsZero) {
  std::string out;
  ASSERT_OK_AND_ASSIGN(int32_t size, EncodeRecord(A1(), kMaxMessageSize, &out));
  EXPECT_EQ(size, 107);
  std::string expected = kAppendixA1;
  std::fill(expected.begin() + kQueueOffsetPos,
            expected.begin() + kQueueOffsetPos + 16, '\0');
  std::fill(expected.begin() + 56, expected.begin() + 64, '\0');
  EXPECT_EQ(out, expected);
}

TEST_F(CommitLogFormatTest, EncodeAppendsToExistingBytes) {
  std::string out = "prefix";
  ASSERT_OK_AND_ASSIGN(int32_t size, EncodeRecord(A1(), kMaxMessageSize, &out));
  EXPECT_EQ(out.size(), 6 + static_cast<size_t>(size));
  EXPECT_EQ(out.substr(0, 6), "prefix");
}

TEST_F(CommitLogFormatTest, CheckDecodesAppendixA1) {
  const RecordCheck c = CheckRecord(Bytes(kAppendixA1), /*check_crc=*/true);
  ASSERT_EQ(c.status, RecordStatus::kOk) << c.error;
  EXPECT_EQ(c.size, 107);
  const DecodedRecord& r = c.record;
  EXPECT_EQ(r.total_size, 107);
  EXPECT_EQ(r.magic, kMagicV1);
  EXPECT_EQ(r.body_crc, 0x3610A686);
  EXPECT_EQ(r.queue_id, 3);
  EXPECT_EQ(r.flag, 0);
  EXPECT_EQ(r.queue_offset, 7);
  EXPECT_EQ(r.phys_offset, 1073741824);
  EXPECT_EQ(r.sys_flag, 0);
  EXPECT_EQ(r.born_timestamp, 1700000000000);
  EXPECT_EQ(r.born_host, HostAddress::V4(192, 168, 0, 10, 50000));
  EXPECT_EQ(r.store_timestamp, 1700000000123);
  EXPECT_EQ(r.store_host, HostAddress::V4(192, 168, 0, 1, 10911));
  EXPECT_EQ(r.reconsume_times, 0);
  EXPECT_EQ(r.prepared_transaction_offset, 0);
  EXPECT_EQ(AsStringView(r.body), "hello");
  EXPECT_EQ(r.topic, "T");
  EXPECT_EQ(r.properties, std::string("TAGS\x01TagA\x02"));
  EXPECT_EQ(TagsCode(FindProperty(r.properties, prop::kTags)), 0x27A807);
  EXPECT_EQ(CreateMessageId(r.store_host, r.phys_offset),
            "C0A8000100002A9F0000000040000000");
  // The views point into the input.
  EXPECT_EQ(reinterpret_cast<const char*>(r.body.data()),
            kAppendixA1.data() + 88);
}

TEST_F(CommitLogFormatTest, BlankRecordMatchesAppendixA3) {
  // A.3: 24 bytes left at the end of a segment.
  std::string tail(24, '\0');
  EncodeBlank(reinterpret_cast<std::byte*>(tail.data()), 24);
  EXPECT_EQ(tail.substr(0, 8), testing::BytesFromHex("00000018 CBD43194"));
  const RecordCheck c = CheckPrefix(tail, tail.size());
  EXPECT_EQ(c.status, RecordStatus::kBlank);
  EXPECT_EQ(c.size, 24);
}

TEST_F(CommitLogFormatTest, MinimalBlankIsEightBytes) {
  std::string tail(8, '\0');
  EncodeBlank(reinterpret_cast<std::byte*>(tail.data()), 8);
  EXPECT_EQ(CheckPrefix(tail, 8).status, RecordStatus::kBlank);
}

TEST_F(CommitLogFormatTest, BlankShorterThanEightBytesIsCorrupt) {
  std::string tail(8, '\0');
  EncodeBlank(reinterpret_cast<std::byte*>(tail.data()), 4);
  EXPECT_EQ(CheckPrefix(tail, 8).status, RecordStatus::kCorrupt);
}

TEST_F(CommitLogFormatTest, BlankLongerThanInputIsTorn) {
  std::string tail(16, '\0');
  EncodeBlank(reinterpret_cast<std::byte*>(tail.data()), 24);
  EXPECT_EQ(CheckPrefix(tail, 16).status, RecordStatus::kTorn);
}

TEST_F(CommitLogFormatTest, BornHostV6MovesStoreTimestampAndSetsFlag) {
  MessageToStore m = A1();
  ASSERT_OK_AND_ASSIGN(m.born_host, HostAddress::Parse("[fd00::10]:50000"));
  EXPECT_EQ(RecordSize(m), 107 + 12);
  const std::string rec = Encode(m);
  ASSERT_EQ(rec.size(), 119u);
  EXPECT_EQ(LoadI32(rec.data() + kSysFlagPos), sysflag::kBornHostV6);
  EXPECT_EQ(StoreTimestampPos(sysflag::kBornHostV6), 68);
  EXPECT_EQ(LoadI64(rec.data() + 68), 1700000000123);
  EXPECT_EQ(LoadI32(rec.data() + kBornHostPos + 16), 50000);
  EXPECT_EQ(static_cast<uint8_t>(rec[kBornHostPos]), 0xFD);
  // Store host at 56 + bh = 76, body length at 68 + bh + sh = 96.
  EXPECT_EQ(static_cast<uint8_t>(rec[76]), 192);
  EXPECT_EQ(LoadI32(rec.data() + 96), 5);

  const RecordCheck c = CheckPrefix(rec, rec.size());
  ASSERT_EQ(c.status, RecordStatus::kOk) << c.error;
  EXPECT_EQ(c.record.born_host, m.born_host);
  EXPECT_EQ(c.record.store_host, m.store_host);
  EXPECT_EQ(c.record.store_timestamp, 1700000000123);
  EXPECT_EQ(AsStringView(c.record.body), "hello");
}

TEST_F(CommitLogFormatTest, BothHostsV6) {
  MessageToStore m = A1();
  ASSERT_OK_AND_ASSIGN(m.born_host, HostAddress::Parse("[fd00::10]:50000"));
  ASSERT_OK_AND_ASSIGN(m.store_host, HostAddress::Parse("[fd00::1]:10911"));
  EXPECT_EQ(RecordSize(m), 107 + 24);
  const std::string rec = Encode(m);
  ASSERT_EQ(rec.size(), 131u);
  EXPECT_EQ(LoadI32(rec.data() + kSysFlagPos),
            sysflag::kBornHostV6 | sysflag::kStoreHostV6);
  // Store host at 68 + 8 = 76 (20 bytes), reconsume times at 96, prepared
  // offset at 100, body length at 108.
  EXPECT_EQ(static_cast<uint8_t>(rec[76]), 0xFD);
  EXPECT_EQ(LoadI32(rec.data() + 76 + 16), 10911);
  EXPECT_EQ(LoadI32(rec.data() + 108), 5);
  EXPECT_EQ(rec.substr(112, 5), "hello");

  const RecordCheck c = CheckPrefix(rec, rec.size());
  ASSERT_EQ(c.status, RecordStatus::kOk) << c.error;
  EXPECT_EQ(c.record.store_host, m.store_host);
  EXPECT_EQ(c.record.topic, "T");
  EXPECT_EQ(CreateMessageId(c.record.store_host, c.record.phys_offset).size(),
            56u);
}

TEST_F(CommitLogFormatTest, StoreHostV6Only) {
  MessageToStore m = A1();
  ASSERT_OK_AND_ASSIGN(m.store_host, HostAddress::Parse("[fd00::1]:10911"));
  const std::string rec = Encode(m);
  ASSERT_EQ(rec.size(), 119u);
  EXPECT_EQ(LoadI32(rec.data() + kSysFlagPos), sysflag::kStoreHostV6);
  EXPECT_EQ(LoadI64(rec.data() + 56), 1700000000123);  // born host is IPv4
  EXPECT_EQ(LoadI32(rec.data() + 64 + 16), 10911);
  EXPECT_EQ(CheckPrefix(rec, rec.size()).status, RecordStatus::kOk);
}

TEST_F(CommitLogFormatTest, V6BitsFollowHostFamiliesOnly) {
  MessageToStore m = A1();
  m.sys_flag = sysflag::kBornHostV6 | sysflag::kStoreHostV6 |
               sysflag::kTransactionCommitType;
  const std::string rec = Encode(m);
  EXPECT_EQ(LoadI32(rec.data() + kSysFlagPos), sysflag::kTransactionCommitType);
  EXPECT_EQ(rec.size(), 107u);
}

TEST_F(CommitLogFormatTest, LongTopicUsesV2Magic) {
  const std::string topic(200, 't');
  MessageToStore m = A1();
  m.topic = topic;
  EXPECT_EQ(RecordSize(m), 91 + 1 + 5 + 200 + 10);
  const std::string rec = Encode(m);
  ASSERT_EQ(rec.size(), 307u);
  EXPECT_EQ(LoadI32(rec.data() + 4), kMagicV2);
  EXPECT_EQ(LoadI16(rec.data() + 93), 200);  // TOPICLENGTH is an i16 in v2
  EXPECT_EQ(rec.substr(95, 200), topic);
  EXPECT_EQ(LoadI16(rec.data() + 295), 10);

  const RecordCheck c = CheckPrefix(rec, rec.size());
  ASSERT_EQ(c.status, RecordStatus::kOk) << c.error;
  EXPECT_EQ(c.record.magic, kMagicV2);
  EXPECT_EQ(c.record.topic, topic);
  EXPECT_EQ(c.record.properties, properties_);
}

TEST_F(CommitLogFormatTest, VersionSwitchesAbove127Bytes) {
  const std::string t127(127, 'a');
  const std::string t128(128, 'a');
  MessageToStore m = A1();
  m.topic = t127;
  EXPECT_EQ(LoadI32(Encode(m).data() + 4), kMagicV1);
  m.topic = t128;
  EXPECT_EQ(LoadI32(Encode(m).data() + 4), kMagicV2);
}

TEST_F(CommitLogFormatTest, EmptyBodyAndProperties) {
  MessageToStore m = A1();
  m.body = {};
  m.properties = {};
  const std::string rec = Encode(m);
  EXPECT_EQ(rec.size(), 92u);
  EXPECT_EQ(LoadI32(rec.data() + 8), 0);  // crc32r of nothing
  const RecordCheck c = CheckPrefix(rec, rec.size());
  ASSERT_EQ(c.status, RecordStatus::kOk) << c.error;
  EXPECT_TRUE(c.record.body.empty());
  EXPECT_TRUE(c.record.properties.empty());
}

TEST_F(CommitLogFormatTest, EncodeRejectsInvalidMessages) {
  std::string out;
  MessageToStore m = A1();
  m.topic = "";
  EXPECT_FALSE(EncodeRecord(m, kMaxMessageSize, &out).ok());

  const std::string huge_topic(32768, 't');
  m.topic = huge_topic;
  EXPECT_FALSE(EncodeRecord(m, kMaxMessageSize, &out).ok());

  m = A1();
  const std::string long_props(32768, 'p');
  m.properties = long_props;
  EXPECT_FALSE(EncodeRecord(m, kMaxMessageSize, &out).ok());
  const std::string max_props(32767, 'p');
  m.properties = max_props;
  EXPECT_TRUE(EncodeRecord(m, kMaxMessageSize, &out).ok());
  out.clear();

  // 4.x rule: TOTALSIZE, not the body, is bounded.
  m = A1();
  EXPECT_TRUE(EncodeRecord(m, 107, &out).ok());
  EXPECT_FALSE(EncodeRecord(m, 106, &out).ok());
  EXPECT_EQ(out.size(), 107u);  // a rejected message appends nothing
}

TEST_F(CommitLogFormatTest, EncodeWithoutBodyLeavesTheBodysGap) {
  MessageToStore v6 = A1();
  ASSERT_OK_AND_ASSIGN(v6.born_host, HostAddress::Parse("[fd00::10]:50000"));
  ASSERT_OK_AND_ASSIGN(v6.store_host, HostAddress::Parse("[fd00::1]:10911"));
  const std::string long_topic(200, 't');
  MessageToStore v2 = A1();
  v2.topic = long_topic;
  MessageToStore empty = A1();
  empty.body = {};
  for (const MessageToStore& m : {A1(), v6, v2, empty}) {
    std::string whole = "prefix";
    ASSERT_OK_AND_ASSIGN(int32_t size,
                         EncodeRecord(m, kMaxMessageSize, &whole));
    std::string parts = "prefix";
    size_t body_pos = 0;
    ASSERT_OK_AND_ASSIGN(
        int32_t parts_size,
        EncodeRecordWithoutBody(m, kMaxMessageSize, &parts, &body_pos));
    EXPECT_EQ(parts_size, size);
    ASSERT_EQ(parts.size() - 6 + m.body.size(), static_cast<size_t>(size));
    EXPECT_EQ(body_pos, static_cast<size_t>(size) - m.body.size() -
                            (m.topic.size() > 127 ? 2 : 1) - m.topic.size() -
                            2 - m.properties.size());
    // The record is the first part, the body, then the rest.
    EXPECT_EQ(parts.substr(0, 6 + body_pos) +
                  std::string(AsStringView(m.body)) +
                  parts.substr(6 + body_pos),
              whole);
  }
  std::string out;
  size_t body_pos = 0;
  MessageToStore bad = A1();
  bad.topic = "";
  EXPECT_FALSE(
      EncodeRecordWithoutBody(bad, kMaxMessageSize, &out, &body_pos).ok());
  EXPECT_TRUE(out.empty());
}

TEST_F(CommitLogFormatTest, EveryTruncationIsTorn) {
  const std::string rec = Encode(A1());
  for (size_t n = 0; n < rec.size(); ++n) {
    const RecordCheck c = CheckPrefix(rec, n);
    EXPECT_EQ(c.status, RecordStatus::kTorn) << "length " << n;
    EXPECT_EQ(c.size, -1);
  }
  EXPECT_EQ(CheckPrefix(rec, rec.size()).status, RecordStatus::kOk);
}

TEST_F(CommitLogFormatTest, TrailingBytesAfterRecordAreIgnored) {
  std::string seg = Encode(A1()) + std::string(64, '\0');
  const RecordCheck c = CheckPrefix(seg, seg.size());
  ASSERT_EQ(c.status, RecordStatus::kOk);
  EXPECT_EQ(c.size, 107);
  // The zero-filled space behind it holds no record.
  const RecordCheck next = CheckRecord(Bytes(seg).subspan(107), true);
  EXPECT_EQ(next.status, RecordStatus::kCorrupt);
  EXPECT_EQ(next.size, -1);
}

TEST_F(CommitLogFormatTest, FlippedBodyBitFailsOnlyWithCrcCheck) {
  std::string rec = Encode(A1());
  rec[90] = static_cast<char>(rec[90] ^ 0x04);
  EXPECT_EQ(CheckPrefix(rec, rec.size(), /*check_crc=*/true).status,
            RecordStatus::kCorrupt);
  const RecordCheck c = CheckPrefix(rec, rec.size(), /*check_crc=*/false);
  EXPECT_EQ(c.status, RecordStatus::kOk);
  EXPECT_EQ(c.size, 107);
}

TEST_F(CommitLogFormatTest, BadMagicIsCorrupt) {
  std::string rec = Encode(A1());
  StoreI32(rec.data() + 4, 0x12345678);
  const RecordCheck c = CheckPrefix(rec, rec.size());
  EXPECT_EQ(c.status, RecordStatus::kCorrupt);
  EXPECT_FALSE(c.error.empty());
}

TEST_F(CommitLogFormatTest, LengthMismatchReportsTotalSize) {
  // TOTALSIZE larger than the fields add up to (the input is long enough to
  // hold it).
  std::string seg = Encode(A1()) + std::string(16, '\0');
  StoreI32(seg.data(), 115);
  RecordCheck c = CheckPrefix(seg, seg.size());
  EXPECT_EQ(c.status, RecordStatus::kLengthMismatch);
  EXPECT_EQ(c.size, 115);
  // TOTALSIZE smaller than the fields.
  StoreI32(seg.data(), 100);
  c = CheckPrefix(seg, seg.size());
  EXPECT_EQ(c.status, RecordStatus::kLengthMismatch);
  EXPECT_EQ(c.size, 100);
}

TEST_F(CommitLogFormatTest, LengthFieldsPastTheInputAreCorrupt) {
  std::string rec = Encode(A1());
  StoreI32(rec.data() + 84, 1000);  // BODYLENGTH beyond the input
  EXPECT_EQ(CheckPrefix(rec, rec.size(), false).status, RecordStatus::kCorrupt);
  StoreI32(rec.data() + 84, -5);
  EXPECT_EQ(CheckPrefix(rec, rec.size(), false).status, RecordStatus::kCorrupt);

  rec = Encode(A1());
  rec[93] = static_cast<char>(0x80);  // v1 TOPICLENGTH is signed: -128
  EXPECT_EQ(CheckPrefix(rec, rec.size()).status, RecordStatus::kCorrupt);

  rec = Encode(A1());
  StoreI16(rec.data() + 95, 0x7000);  // PROPERTIESLENGTH beyond the input
  EXPECT_EQ(CheckPrefix(rec, rec.size()).status, RecordStatus::kCorrupt);
  StoreI16(rec.data() + 95, -1);
  EXPECT_EQ(CheckPrefix(rec, rec.size()).status, RecordStatus::kCorrupt);

  rec = Encode(A1());
  StoreI32(rec.data(), -1);
  EXPECT_EQ(CheckPrefix(rec, rec.size()).status, RecordStatus::kCorrupt);
}

TEST_F(CommitLogFormatTest, RandomCorruptionNeverReadsOutsideTheInput) {
  std::mt19937_64 rng(::thruster::testing::TestSeed());
  const std::string rec = Encode(A1());
  for (int i = 0; i < 20000; ++i) {
    std::string bad = rec;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      bad[rng() % bad.size()] = static_cast<char>(rng());
    }
    const size_t n = rng() % (bad.size() + 1);
    const RecordCheck c = CheckPrefix(bad, n, (rng() & 1) != 0);
    if (c.status == RecordStatus::kOk) {
      EXPECT_LE(static_cast<size_t>(c.size), n);
    }
  }
}

// CheckRecordForDispatch must agree with CheckRecord(in, false) on status,
// size, error and the fields it decodes, for every input: checked on heap
// copies sized exactly (ASan catches a read past the span).
void ExpectDispatchCheckAgrees(const std::string& bytes, size_t n,
                               const std::string& what) {
  std::vector<std::byte> copy(n);
  if (n > 0) std::memcpy(copy.data(), bytes.data(), n);
  const RecordCheck full = CheckRecord(copy, false);
  // Fields CheckRecordForDispatch does not decode must keep what they held.
  DecodedRecord l;
  l.body_crc = 11;
  l.phys_offset = 22;
  l.born_host = HostAddress::V4(1, 2, 3, 4, 5);
  const RecordCheckStatus light = CheckRecordForDispatch(copy, &l);
  ASSERT_EQ(light.status, full.status) << what << ", length " << n;
  EXPECT_EQ(light.size, full.size) << what << ", length " << n;
  EXPECT_EQ(light.error, full.error) << what << ", length " << n;
  EXPECT_EQ(l.body_crc, 11);
  EXPECT_EQ(l.phys_offset, 22);
  EXPECT_EQ(l.born_host, HostAddress::V4(1, 2, 3, 4, 5));
  if (full.status != RecordStatus::kOk) {
    EXPECT_EQ(l.topic.data(), nullptr) << what << ", length " << n;
    return;
  }
  const DecodedRecord& f = full.record;
  EXPECT_EQ(l.total_size, f.total_size) << what;
  EXPECT_EQ(l.magic, f.magic) << what;
  EXPECT_EQ(l.queue_id, f.queue_id) << what;
  EXPECT_EQ(l.queue_offset, f.queue_offset) << what;
  EXPECT_EQ(l.sys_flag, f.sys_flag) << what;
  EXPECT_EQ(l.store_timestamp, f.store_timestamp) << what;
  EXPECT_EQ(l.topic.data(), f.topic.data()) << what;
  EXPECT_EQ(l.topic.size(), f.topic.size()) << what;
  EXPECT_EQ(l.properties.data(), f.properties.data()) << what;
  EXPECT_EQ(l.properties.size(), f.properties.size()) << what;
}

TEST_F(CommitLogFormatTest, DispatchCheckAgreesWithCheckRecord) {
  MessageToStore v6 = A1();
  ASSERT_OK_AND_ASSIGN(v6.born_host, HostAddress::Parse("[fd00::10]:50000"));
  ASSERT_OK_AND_ASSIGN(v6.store_host, HostAddress::Parse("[fd00::1]:10911"));
  MessageToStore store_v6 = A1();
  ASSERT_OK_AND_ASSIGN(store_v6.store_host,
                       HostAddress::Parse("[fd00::1]:10911"));
  const std::string long_topic(200, 't');
  MessageToStore v2 = A1();
  v2.topic = long_topic;
  MessageToStore empty = A1();
  empty.body = {};
  empty.properties = {};
  std::string blank(16, '\0');
  EncodeBlank(reinterpret_cast<std::byte*>(blank.data()), 16);
  const std::vector<std::pair<std::string, std::string>> records = {
      {"A.1", Encode(A1(), 7, 1073741824, 1700000000123)},
      {"both hosts v6", Encode(v6, 9, 4096, 1700000000456)},
      {"store host v6", Encode(store_v6, 1, 0, 1700000000789)},
      {"v2 topic", Encode(v2)},
      {"empty body and properties", Encode(empty)},
      {"blank", blank},
  };
  std::mt19937_64 rng(::thruster::testing::TestSeed());
  for (const auto& [what, rec] : records) {
    // Every truncation, the record alone and with bytes behind it.
    const std::string padded = rec + std::string(24, '\x5a');
    for (size_t n = 0; n <= padded.size(); ++n)
      ExpectDispatchCheckAgrees(padded, n, what);
    // Every byte set to values that hit the length fields' edges.
    for (size_t i = 0; i < rec.size(); ++i) {
      for (int v : {0x00, 0x01, 0x7F, 0x80, 0xFF}) {
        std::string bad = padded;
        bad[i] = static_cast<char>(v);
        ExpectDispatchCheckAgrees(bad, rec.size(),
                                  what + " byte " + std::to_string(i));
        ExpectDispatchCheckAgrees(bad, bad.size(),
                                  what + " byte " + std::to_string(i));
      }
    }
    // Random corruption of several bytes at random lengths.
    for (int i = 0; i < 5000; ++i) {
      std::string bad = padded;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f)
        bad[rng() % bad.size()] = static_cast<char>(rng());
      ExpectDispatchCheckAgrees(bad, rng() % (bad.size() + 1),
                                what + " random");
    }
  }
}

}  // namespace
}  // namespace thruster::message
