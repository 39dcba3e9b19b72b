// Decodes every frame captured between real RocketMQ 4.9.8 servers and real
// clients (fixtures/wire) and checks the result against the capture's own
// description of each frame.

#include "tests/remoting/wire_fixture.h"

#include <gtest/gtest.h>

#include <set>

#include "common/coding.h"
#include "remoting/frame_codec.h"
#include "remoting/remoting_command.h"
#include "tests/support/test_util.h"

namespace thruster::remoting {
namespace {

using nlohmann::json;
using testing::Bytes;
using testing::HexToBytes;
using testing::WireFixturePath;
using testing::WireFrames;

// The text a server must see for one ext value as the client wrote it: strings
// as they are, numbers with their digits, booleans as true/false.
std::string ExpectedExtText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

void ExpectHeaderMatches(const RemotingCommand& cmd, const json& header,
                         const std::string& where) {
  EXPECT_EQ(cmd.code(), header.at("code").get<int>()) << where;
  EXPECT_EQ(cmd.opaque(), header.at("opaque").get<int>()) << where;
  EXPECT_EQ(cmd.flag(), header.at("flag").get<int>()) << where;
  EXPECT_EQ(cmd.version(), header.at("version").get<int>()) << where;
  EXPECT_EQ(LanguageName(cmd.language()),
            header.at("language").get<std::string>())
      << where;
  EXPECT_EQ(cmd.remark(), header.value("remark", std::string())) << where;
  size_t expected_ext = 0;
  if (header.contains("extFields") && header.at("extFields").is_object()) {
    for (const auto& [k, v] : header.at("extFields").items()) {
      if (v.is_null()) continue;
      ++expected_ext;
      auto got = cmd.FindExt(k);
      ASSERT_TRUE(got.has_value()) << where << " missing ext " << k;
      EXPECT_EQ(*got, ExpectedExtText(v)) << where << " ext " << k;
    }
  }
  EXPECT_EQ(cmd.ext_fields().size(), expected_ext) << where;
}

TEST(WireFixtureTest, DecodesEveryCapturedFrame) {
  const auto& frames = WireFrames();
  ASSERT_EQ(frames.size(), 2084u);
  std::set<int> numeric_ext_frames;
  for (const auto& f : frames) {
    std::string where = "frame " + std::to_string(f.at("idx").get<int>());
    std::string bytes = HexToBytes(f.at("frameHex"));
    ASSERT_EQ(LoadI32(bytes.data()), f.at("totalLength").get<int>()) << where;
    ASSERT_EQ(static_cast<uint8_t>(bytes[4]), f.at("serializeType").get<int>())
        << where;
    Result<size_t> size = PeekFrameSize(Bytes(bytes));
    ASSERT_TRUE(size.ok()) << where;
    ASSERT_EQ(*size, bytes.size()) << where;

    Result<RemotingCommand> cmd = DecodeFrame(Bytes(bytes));
    ASSERT_TRUE(cmd.ok()) << where << ": " << cmd.status().ToString();
    EXPECT_EQ(cmd->serialize_type(), SerializeType::kJson) << where;
    // The one-pass header decoder DecodeFrame uses agrees with the general
    // JSON reader on every real client's header.
    RemotingCommand general;
    ASSERT_OK(DecodeJsonHeaderWithParser(
        std::string_view(bytes).substr(8, f.at("headerLength").get<size_t>()),
        &general));
    EXPECT_EQ(cmd->code(), general.code()) << where;
    EXPECT_EQ(cmd->language(), general.language()) << where;
    EXPECT_EQ(cmd->version(), general.version()) << where;
    EXPECT_EQ(cmd->opaque(), general.opaque()) << where;
    EXPECT_EQ(cmd->flag(), general.flag()) << where;
    EXPECT_EQ(cmd->remark(), general.remark()) << where;
    EXPECT_EQ(cmd->ext_fields(), general.ext_fields()) << where;
    EXPECT_EQ(cmd->IsResponse(), f.at("dir") == "response") << where;
    EXPECT_EQ(cmd->IsOneway(), f.at("oneway").get<bool>()) << where;
    ExpectHeaderMatches(*cmd, f.at("header"), where);
    ASSERT_EQ(cmd->body().size(), f.at("bodyLength").get<size_t>()) << where;
    std::string body_prefix = HexToBytes(f.at("bodyHex"));
    EXPECT_EQ(cmd->body_view().substr(0, body_prefix.size()), body_prefix)
        << where;
    EXPECT_EQ(
        static_cast<int>(bytes.size()) - 8 - f.at("headerLength").get<int>(),
        static_cast<int>(cmd->body().size()))
        << where;
    if (f.at("header").contains("extFields")) {
      for (const auto& [k, v] : f.at("header").at("extFields").items()) {
        if (v.is_number() || v.is_boolean())
          numeric_ext_frames.insert(f.at("idx").get<int>());
      }
    }
  }
  // The capture does exercise the numeric/boolean ext value coercion (ali-ons
  // and the C++ client).
  EXPECT_GT(numeric_ext_frames.size(), 100u);
}

TEST(WireFixtureTest, ReencodedFramesKeepTheirMeaning) {
  for (const auto& f : WireFrames()) {
    std::string where = "frame " + std::to_string(f.at("idx").get<int>());
    std::string bytes = HexToBytes(f.at("frameHex"));
    Result<RemotingCommand> cmd = DecodeFrame(Bytes(bytes));
    ASSERT_TRUE(cmd.ok()) << where;
    Result<std::string> again = EncodeFrame(*cmd);
    ASSERT_TRUE(again.ok()) << where;
    // The re-encoded header is strict JSON whose ext values are all strings
    // (what C++ clients can read).
    uint32_t word = static_cast<uint32_t>(LoadI32(again->data() + 4));
    ASSERT_EQ(word >> 24, 0u);
    std::string header_text = again->substr(8, word & 0xFFFFFF);
    json header = json::parse(header_text);
    if (header.contains("extFields")) {
      for (const auto& [k, v] : header.at("extFields").items())
        EXPECT_TRUE(v.is_string()) << where << " " << k;
    }
    // Compact, members sorted: exactly what a strict parser's compact dump of
    // it gives.
    EXPECT_EQ(header.dump(), header_text) << where;
    Result<RemotingCommand> round = DecodeFrame(Bytes(*again));
    ASSERT_TRUE(round.ok()) << where;
    ExpectHeaderMatches(*round, f.at("header"), where + " (re-encoded)");
    EXPECT_EQ(round->body_view(), cmd->body_view()) << where;
    // And through the binary header as well.
    RemotingCommand binary = *cmd;
    binary.set_serialize_type(SerializeType::kRocketMq);
    Result<std::string> bin = EncodeFrame(binary);
    ASSERT_TRUE(bin.ok()) << where;
    Result<RemotingCommand> from_bin = DecodeFrame(Bytes(*bin));
    ASSERT_TRUE(from_bin.ok()) << where;
    EXPECT_EQ(from_bin->code(), cmd->code());
    EXPECT_EQ(from_bin->opaque(), cmd->opaque());
    EXPECT_EQ(from_bin->flag(), cmd->flag());
    EXPECT_EQ(from_bin->remark(), cmd->remark());
    // The binary form drops empty ext values (they decode as absent, §1.4).
    for (const auto& [k, v] : cmd->ext_fields()) {
      if (v.empty()) {
        EXPECT_FALSE(from_bin->FindExt(k).has_value()) << where << " " << k;
      } else {
        EXPECT_EQ(from_bin->FindExt(k), std::optional<std::string_view>(v))
            << where << " " << k;
      }
    }
    EXPECT_EQ(from_bin->body_view(), cmd->body_view()) << where;
  }
}

TEST(WireFixtureTest, DecodesEveryPairFile) {
  std::ifstream in(WireFixturePath("pairs.json"));
  json pairs = json::parse(in);
  ASSERT_EQ(pairs.size(), 25u);
  for (const auto& p : pairs) {
    std::string req_bytes =
        testing::ReadFileBytes(WireFixturePath(p.at("req")));
    Result<RemotingCommand> req = DecodeFrame(Bytes(req_bytes));
    ASSERT_TRUE(req.ok()) << p.at("req") << ": " << req.status().ToString();
    EXPECT_EQ(req->code(), p.at("requestCode").get<int>()) << p.at("req");
    EXPECT_EQ(req->opaque(), p.at("opaque").get<int>()) << p.at("req");
    EXPECT_FALSE(req->IsResponse());
    EXPECT_EQ(req->IsOneway(), p.at("oneway").get<bool>()) << p.at("req");
    EXPECT_EQ(
        req_bytes,
        HexToBytes(
            WireFrames().at(p.at("reqIdx").get<size_t>()).at("frameHex")));
    if (!p.contains("resp") || p.at("resp").is_null()) continue;
    std::string resp_bytes =
        testing::ReadFileBytes(WireFixturePath(p.at("resp")));
    Result<RemotingCommand> resp = DecodeFrame(Bytes(resp_bytes));
    ASSERT_TRUE(resp.ok()) << p.at("resp") << ": " << resp.status().ToString();
    EXPECT_TRUE(resp->IsResponse());
    EXPECT_EQ(resp->opaque(), req->opaque()) << p.at("resp");
    EXPECT_EQ(resp->code(), p.at("responseCode").get<int>()) << p.at("resp");
    EXPECT_EQ(resp->language(), LanguageCode::kJava);
    EXPECT_EQ(resp->version(), 409);
  }
}

TEST(WireFixtureTest, CppSendRequestCoercesNumericExtFields) {
  std::string bytes =
      testing::ReadFileBytes(WireFixturePath("broker-310-cpp.req.bin"));
  Result<RemotingCommand> cmd = DecodeFrame(Bytes(bytes));
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(cmd->language(), LanguageCode::kCpp);
  EXPECT_EQ(cmd->version(), 333);
  ASSERT_OK_AND_ASSIGN(int32_t queue_id, cmd->RequireExtInt32("e"));
  EXPECT_GE(queue_id, 0);
  ASSERT_OK_AND_ASSIGN(int32_t default_queues, cmd->RequireExtInt32("d"));
  EXPECT_EQ(default_queues, 4);
  EXPECT_TRUE(cmd->FindExt("Signature").has_value());
  EXPECT_EQ(cmd->FindExt("AccessKey"), std::optional<std::string_view>(""));
  // An empty mandatory value counts as missing (§10.21).
  EXPECT_FALSE(cmd->RequireExt("AccessKey").ok());
}

}  // namespace
}  // namespace thruster::remoting
