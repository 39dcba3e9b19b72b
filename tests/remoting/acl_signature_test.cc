// The plain-ACL request signature (spec/remoting.md §7.1) against the spec's
// test vector and against a signature a real RocketMQ C++ client put on the
// wire (fixtures/wire: it signs with an empty secret when no keys are set).

#include "remoting/acl_signature.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "remoting/frame_codec.h"
#include "tests/remoting/wire_fixture.h"

namespace thruster::remoting {
namespace {

// The SEND_MESSAGE_V2 request of spec/remoting.md §8.1 with AccessKey added.
RemotingCommand SpecRequest() {
  RemotingCommand req =
      RemotingCommand::CreateRequest(request_code::kSendMessageV2);
  req.set_version(479);
  for (auto [k, v] : std::initializer_list<std::pair<const char*, std::string>>{
           {"a", "PG"},
           {"b", "TopicTest"},
           {"c", "TBW102"},
           {"d", "4"},
           {"e", "0"},
           {"f", "0"},
           {"g", "1700000000000"},
           {"h", "0"},
           {"i",
            "UNIQ_KEY\x01"
            "7F00000130391B6D358600A5E2C00001\x02WAIT\x01true\x02TAGS\x01"
            "A\x02"},
           {"j", "0"},
           {"k", "false"},
           {"m", "false"},
           {"n", "broker-a"},
           {"AccessKey", "RocketMQ"}}) {
    req.SetExt(k, v);
  }
  req.set_body(std::string_view("Hello"));
  return req;
}

TEST(AclSignatureTest, MatchesTheSpecTestVector) {
  EXPECT_EQ(ComputeAclSignature("12345678", SpecRequest()),
            "lrlOwuYt7LoBQBMkRKwfki2oWrc=");
}

TEST(AclSignatureTest, SignRequestAddsAccessKeyAndSignature) {
  RemotingCommand req = SpecRequest();
  req.mutable_ext_fields().erase("AccessKey");
  SignRequest(req, "RocketMQ", "12345678");
  EXPECT_EQ(req.ExtOr("AccessKey", ""), "RocketMQ");
  EXPECT_EQ(req.ExtOr("Signature", ""), "lrlOwuYt7LoBQBMkRKwfki2oWrc=");
  // The Signature field itself is not signed: signing again gives the same.
  EXPECT_EQ(ComputeAclSignature("12345678", req),
            "lrlOwuYt7LoBQBMkRKwfki2oWrc=");
}

TEST(AclSignatureTest, AnyChangeToFieldsOrBodyChangesTheSignature) {
  const std::string good = ComputeAclSignature("12345678", SpecRequest());
  RemotingCommand body = SpecRequest();
  body.set_body(std::string_view("Hellp"));
  EXPECT_NE(ComputeAclSignature("12345678", body), good);
  RemotingCommand field = SpecRequest();
  field.SetExt("b", "TopicTesu");
  EXPECT_NE(ComputeAclSignature("12345678", field), good);
  RemotingCommand added = SpecRequest();
  added.SetExt("zz", "x");
  EXPECT_NE(ComputeAclSignature("12345678", added), good);
  EXPECT_NE(ComputeAclSignature("12345679", SpecRequest()), good);
}

TEST(AclSignatureTest, OldClientsLeaveUniqueKeyQueryOutOfTheSignature) {
  RemotingCommand req = SpecRequest();
  const std::string without = ComputeAclSignature("12345678", req);
  req.SetExt("_UNIQUE_KEY_QUERY", "true");
  req.set_version(399);
  EXPECT_EQ(ComputeRequestSignature("12345678", req), without);
  req.set_version(400);
  EXPECT_NE(ComputeRequestSignature("12345678", req), without);
}

TEST(AclSignatureTest, RecomputesTheSignatureOfACapturedCppClientRequest) {
  const std::string frame = testing::ReadFileBytes(
      testing::WireFixturePath("broker-310-cpp.req.bin"));
  ASSERT_FALSE(frame.empty());
  Result<RemotingCommand> req = DecodeFrame(std::span(
      reinterpret_cast<const std::byte*>(frame.data()), frame.size()));
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  const std::string_view captured = req->ExtOr("Signature", "");
  ASSERT_FALSE(captured.empty());
  // Numbers sent as JSON numbers ("d": 4) are signed as their text.
  EXPECT_EQ(ComputeRequestSignature("", *req), captured);
  EXPECT_NE(ComputeRequestSignature("x", *req), captured);
}

// Each thread keeps a few keyed HMAC contexts and resets them between
// signatures: cycling through more keys than it keeps, on two threads, and
// with body segments gives what the spec's vector and a one-piece body give.
TEST(AclSignatureTest, ReusedContextsGiveTheSameSignaturesForEveryKey) {
  const RemotingCommand spec = SpecRequest();
  const std::string vector = "lrlOwuYt7LoBQBMkRKwfki2oWrc=";
  std::vector<std::string> keys = {
      "12345678", "", "k1", "k2", "k3", "k4", std::string(100, 'x')};
  std::vector<std::string> first;
  for (const std::string& k : keys)
    first.push_back(ComputeAclSignature(k, spec));
  EXPECT_EQ(first[0], vector);
  std::sort(first.begin() + 1, first.end());
  EXPECT_EQ(std::unique(first.begin() + 1, first.end()), first.end());

  auto check_cycles = [&] {
    int mismatches = 0;
    for (int round = 0; round < 3; ++round) {
      for (const std::string& k : keys) {
        if (ComputeAclSignature("12345678", spec) != vector) ++mismatches;
        // A different body through the same context leaves nothing behind.
        RemotingCommand other = spec;
        other.set_body(std::string_view("Hellp"));
        if (ComputeAclSignature(k, other) == ComputeAclSignature(k, spec))
          ++mismatches;
      }
    }
    return mismatches;
  };
  EXPECT_EQ(check_cycles(), 0);
  int other_thread = -1;
  std::thread t([&] { other_thread = check_cycles(); });
  t.join();
  EXPECT_EQ(other_thread, 0);

  // The body in three pieces: "He" + "l" + "lo", the last two as segments.
  RemotingCommand split = spec;
  split.set_body(std::string_view("He"));
  static const std::string kL = "l", kLo = "lo";
  split.AddBodySegment(std::as_bytes(std::span(kL)), nullptr);
  split.AddBodySegment(std::as_bytes(std::span(kLo)), nullptr);
  EXPECT_EQ(ComputeAclSignature("12345678", split), vector);
  EXPECT_EQ(
      HmacSha1Base64("key", std::as_bytes(std::span(std::string_view(
                                "The quick brown fox jumps over the "
                                "lazy dog")))),
      "3nybhbi3iqa8ino29wqQcBydtNk=");  // as `openssl dgst -sha1 -hmac key`
}

TEST(AclSignatureTest, SignaturesEqualComparesWholeStrings) {
  EXPECT_TRUE(SignaturesEqual("abc=", "abc="));
  EXPECT_FALSE(SignaturesEqual("abc=", "abd="));
  EXPECT_FALSE(SignaturesEqual("abc=", "abc"));
  EXPECT_FALSE(SignaturesEqual("", "a"));
}

}  // namespace
}  // namespace thruster::remoting
