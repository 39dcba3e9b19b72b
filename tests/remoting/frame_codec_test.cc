#include "remoting/frame_codec.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "common/coding.h"
#include "tests/support/test_util.h"

namespace thruster::remoting {
namespace {

std::string Be32(uint32_t v) {
  std::string s(4, '\0');
  StoreI32(s.data(), static_cast<int32_t>(v));
  return s;
}

std::string Be16(uint16_t v) {
  return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
}

std::string FromHex(std::string_view hex) {
  std::string out;
  int hi = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

// spec/remoting.md §8.1.
constexpr std::string_view kSendV2Header =
    R"({"code":310,"extFields":{"a":"PG","b":"TopicTest","c":"TBW102","d":"4","e":"0","f":"0","g":"1700000000000",)"
    R"("h":"0","i":"UNIQ_KEY\u00017F00000130391B6D358600A5E2C00001\u0002WAIT\u0001true\u0002TAGS\u0001A\u0002",)"
    R"("j":"0","k":"false","m":"false","n":"broker-a"},"flag":0,"language":"JAVA","opaque":1,)"
    R"("serializeTypeCurrentRPC":"JSON","version":479})";

// spec/remoting.md §8.2.
constexpr std::string_view kSendV2ResponseHeader =
    R"({"code":0,"extFields":{"MSG_REGION":"DefaultRegion","TRACE_ON":"true",)"
    R"("msgId":"7F00000100002A9F0000000000000000","queueId":"0","queueOffset":"0",)"
    R"("transactionId":"7F00000130391B6D358600A5E2C00001"},"flag":1,"language":"JAVA","opaque":1,)"
    R"("serializeTypeCurrentRPC":"JSON","version":479})";

RemotingCommand SendV2Request() {
  RemotingCommand cmd = RemotingCommand::CreateRequest(310);
  cmd.set_version(479);
  cmd.set_opaque(1);
  cmd.SetExt("a", "PG");
  cmd.SetExt("b", "TopicTest");
  cmd.SetExt("c", "TBW102");
  cmd.SetExt("d", int32_t{4});
  cmd.SetExt("e", int32_t{0});
  cmd.SetExt("f", int32_t{0});
  cmd.SetExt("g", int64_t{1700000000000});
  cmd.SetExt("h", int32_t{0});
  cmd.SetExt(
      "i",
      std::string("UNIQ_KEY\x01"
                  "7F00000130391B6D358600A5E2C00001\x02WAIT\x01true\x02TAGS\x01"
                  "A\x02"));
  cmd.SetExt("j", int32_t{0});
  cmd.SetExtBool("k", false);
  cmd.SetExtBool("m", false);
  cmd.SetExt("n", "broker-a");
  cmd.set_body(std::string_view("Hello"));
  return cmd;
}

TEST(FrameCodecTest, GoldenSendMessageV2Request) {
  ASSERT_EQ(kSendV2Header.size(), 344u);
  std::string expected =
      Be32(353) + Be32(344) + std::string(kSendV2Header) + "Hello";
  ASSERT_EQ(expected.size(), 357u);
  // The spec's hex dump starts and ends like this.
  EXPECT_EQ(expected.substr(0, 16),
            FromHex("00 00 01 61 00 00 01 58 7B 22 63 6F 64 65 22 3A"));
  EXPECT_EQ(
      expected.substr(0x150),
      FromHex(
          "22 2C 22 76 65 72 73 69 6F 6E 22 3A 34 37 39 7D 48 65 6C 6C 6F"));

  ASSERT_OK_AND_ASSIGN(std::string encoded, EncodeFrame(SendV2Request()));
  EXPECT_EQ(encoded, expected);

  ASSERT_OK_AND_ASSIGN(RemotingCommand decoded, DecodeFrame(AsBytes(expected)));
  EXPECT_EQ(decoded.code(), 310);
  EXPECT_EQ(decoded.opaque(), 1);
  EXPECT_EQ(decoded.flag(), 0);
  EXPECT_FALSE(decoded.IsResponse());
  EXPECT_FALSE(decoded.IsOneway());
  EXPECT_EQ(decoded.version(), 479);
  EXPECT_EQ(decoded.language(), LanguageCode::kJava);
  EXPECT_EQ(decoded.ExtOr("a", ""), "PG");
  EXPECT_EQ(decoded.ExtInt64Or("g", 0), 1700000000000);
  EXPECT_EQ(decoded.ExtOr("i", "").size(), 59u);
  EXPECT_FALSE(decoded.ExtBoolOr("m", true));
  EXPECT_EQ(decoded.body_view(), "Hello");
  EXPECT_EQ(decoded.ext_fields(), SendV2Request().ext_fields());
}

TEST(FrameCodecTest, GoldenSendMessageV2Response) {
  RemotingCommand request = SendV2Request();
  RemotingCommand resp = request.CreateResponse(response_code::kSuccess);
  resp.set_version(479);
  resp.SetExt("queueId", "0");
  resp.SetExt("transactionId", "7F00000130391B6D358600A5E2C00001");
  resp.SetExt("msgId", "7F00000100002A9F0000000000000000");
  resp.SetExt("TRACE_ON", "true");
  resp.SetExt("MSG_REGION", "DefaultRegion");
  resp.SetExt("queueOffset", "0");
  EXPECT_TRUE(resp.IsResponse());
  EXPECT_EQ(resp.opaque(), 1);
  ASSERT_EQ(kSendV2ResponseHeader.size(), 282u);
  ASSERT_OK_AND_ASSIGN(std::string encoded, EncodeFrame(resp));
  EXPECT_EQ(encoded,
            Be32(286) + Be32(282) + std::string(kSendV2ResponseHeader));
  EXPECT_EQ(encoded.size(), 290u);
}

TEST(FrameCodecTest, GoldenBinaryHeaderResponse) {
  // spec/remoting.md §8.3.
  const std::string expected = FromHex(
      "00 00 00 64 01 00 00 60 00 00 00 01 DF 00 00 00"
      "01 00 00 00 01 00 00 00 00 00 00 00 4B 00 05 6D"
      "73 67 49 64 00 00 00 20 37 46 30 30 30 30 30 31"
      "30 30 30 30 32 41 39 46 30 30 30 30 30 30 30 30"
      "30 30 30 30 30 30 30 30 00 07 71 75 65 75 65 49"
      "64 00 00 00 01 30 00 0B 71 75 65 75 65 4F 66 66"
      "73 65 74 00 00 00 01 30");
  ASSERT_EQ(expected.size(), 104u);
  RemotingCommand request = RemotingCommand::CreateRequest(310);
  request.set_opaque(1);
  request.set_serialize_type(SerializeType::kRocketMq);
  RemotingCommand resp = request.CreateResponse(response_code::kSuccess);
  EXPECT_EQ(resp.serialize_type(),
            SerializeType::kRocketMq);  // answers in the request's type (§1.6)
  resp.set_version(479);
  resp.SetExt("msgId", "7F00000100002A9F0000000000000000");
  resp.SetExt("queueId", "0");
  resp.SetExt("queueOffset", "0");
  ASSERT_OK_AND_ASSIGN(std::string encoded, EncodeFrame(resp));
  EXPECT_EQ(encoded, expected);

  ASSERT_OK_AND_ASSIGN(RemotingCommand decoded, DecodeFrame(AsBytes(expected)));
  EXPECT_EQ(decoded.serialize_type(), SerializeType::kRocketMq);
  EXPECT_EQ(decoded.code(), 0);
  EXPECT_EQ(decoded.version(), 479);
  EXPECT_EQ(decoded.opaque(), 1);
  EXPECT_TRUE(decoded.IsResponse());
  EXPECT_EQ(decoded.remark(), "");
  EXPECT_EQ(decoded.ext_fields(), resp.ext_fields());
  EXPECT_TRUE(decoded.body().empty());
}

TEST(FrameCodecTest, BinaryHeaderLaterDuplicateKeyWinsAndEmptyValueIsAbsent) {
  std::string header;
  ByteWriter w(&header);
  w.I16(34);
  w.I8(9);  // GO
  w.I16(317);
  w.I32(7);
  w.I32(0);
  w.I32(3);
  w.Bytes(std::string_view("abc"));
  std::string ext;
  ByteWriter e(&ext);
  for (auto [k, v] :
       {std::pair{"k", "1"}, std::pair{"k", "2"}, std::pair{"empty", ""}}) {
    e.I16(static_cast<int16_t>(std::string_view(k).size()));
    e.Bytes(std::string_view(k));
    e.I32(static_cast<int32_t>(std::string_view(v).size()));
    e.Bytes(std::string_view(v));
  }
  w.I32(static_cast<int32_t>(ext.size()));
  w.Bytes(ext);
  RemotingCommand cmd;
  ASSERT_OK(DecodeBinaryHeader(AsBytes(header), &cmd));
  EXPECT_EQ(cmd.code(), 34);
  EXPECT_EQ(cmd.language(), LanguageCode::kGo);
  EXPECT_EQ(cmd.version(), 317);
  EXPECT_EQ(cmd.opaque(), 7);
  EXPECT_EQ(cmd.remark(), "abc");
  EXPECT_EQ(cmd.ExtOr("k", ""), "2");
  EXPECT_FALSE(cmd.FindExt("empty").has_value());
}

TEST(FrameCodecTest, BinaryHeaderRejectsLengthsBeyondHeader) {
  std::string header;
  ByteWriter w(&header);
  w.I16(34);
  w.I8(0);
  w.I16(409);
  w.I32(1);
  w.I32(0);
  w.I32(1000);  // remark length beyond the header
  RemotingCommand cmd;
  Status s = DecodeBinaryHeader(AsBytes(header), &cmd);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  std::string ext_header = header.substr(0, 13) + Be32(0) + Be32(500);
  s = DecodeBinaryHeader(AsBytes(ext_header), &cmd);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

// Each way an ext field's lengths can run past the fields is an error naming
// the length that does; the fields before it are not an error on their own.
TEST(FrameCodecTest, BinaryHeaderRejectsExtFieldLengthsBeyondTheFields) {
  auto decode = [](const std::string& ext) {
    std::string header;
    ByteWriter w(&header);
    w.I16(310);
    w.I8(0);
    w.I16(409);
    w.I32(1);
    w.I32(0);
    w.I32(0);  // no remark
    w.I32(static_cast<int32_t>(ext.size()));
    w.Bytes(AsBytes(ext));
    RemotingCommand cmd;
    return DecodeBinaryHeader(AsBytes(header), &cmd);
  };
  auto field = [](std::string_view k, std::string_view v) {
    std::string out;
    ByteWriter w(&out);
    w.I16(static_cast<int16_t>(k.size()));
    w.Bytes(AsBytes(k));
    w.I32(static_cast<int32_t>(v.size()));
    w.Bytes(AsBytes(v));
    return out;
  };
  const std::string good = field("a", "1");
  EXPECT_OK(decode(good));
  const std::string key_error = "binary header: bad ext key length";
  const std::string value_error = "binary header: bad ext value length";
  const std::pair<std::string, std::string> cases[] = {
      {good + std::string(1, '\0'), key_error},        // half a name length
      {good + std::string("\xff\xff", 2), key_error},  // negative name length
      {good + Be16(5) + "ab", value_error},            // name past the end
      {good + Be16(1) + "b" + std::string(2, '\0'),
       value_error},  // half a value length
      {good + Be16(1) + "b" + Be32(0xffffffffu), value_error},  // negative
      {good + Be16(1) + "b" + Be32(3) + "xy", value_error},     // past the end
  };
  for (const auto& [ext, error] : cases) {
    Status s = decode(ext);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_EQ(s.message(), error) << s.ToString();
  }
}

TEST(FrameCodecTest, BinaryHeaderCannotCarryLargeCodes) {
  RemotingCommand cmd = RemotingCommand::CreateRequest(200050);
  cmd.set_serialize_type(SerializeType::kRocketMq);
  EXPECT_FALSE(EncodeFrame(cmd).ok());
  cmd.set_serialize_type(SerializeType::kJson);
  EXPECT_TRUE(EncodeFrame(cmd).ok());
}

TEST(FrameCodecTest, TruncatedFrameIsCorruption) {
  ASSERT_OK_AND_ASSIGN(std::string frame, EncodeFrame(SendV2Request()));
  for (size_t cut :
       {size_t{0}, size_t{3}, size_t{7}, size_t{100}, frame.size() - 1}) {
    Result<RemotingCommand> r = DecodeFrame(AsBytes(frame.substr(0, cut)));
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_TRUE(r.status().IsCorruption());
    EXPECT_NE(r.status().message().find("truncated"), std::string_view::npos)
        << r.status().ToString();
  }
  Result<RemotingCommand> trailing = DecodeFrame(AsBytes(frame + "x"));
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.status().message().find("trailing"),
            std::string_view::npos);
}

TEST(FrameCodecTest, HeaderLengthBeyondFrameIsCorruption) {
  std::string frame = Be32(4 + 10) + Be32(11) + std::string(10, '{');
  Result<RemotingCommand> r = DecodeFrame(AsBytes(frame));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_NE(r.status().message().find("header length 11 beyond frame"),
            std::string_view::npos)
      << r.status().ToString();
}

TEST(FrameCodecTest, UnknownSerializeTypeIsCorruption) {
  std::string header = R"({"code":34,"flag":0,"opaque":1})";
  std::string frame = Be32(static_cast<uint32_t>(4 + header.size())) +
                      Be32((2u << 24) | static_cast<uint32_t>(header.size())) +
                      header;
  Result<RemotingCommand> r = DecodeFrame(AsBytes(frame));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown serialize type 2"),
            std::string_view::npos)
      << r.status().ToString();
}

TEST(FrameCodecTest, UnparsableJsonHeaderIsCorruption) {
  std::string header = R"({"code":34,"flag":)";
  std::string frame = Be32(static_cast<uint32_t>(4 + header.size())) +
                      Be32(static_cast<uint32_t>(header.size())) + header;
  Result<RemotingCommand> r = DecodeFrame(AsBytes(frame));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
}

TEST(FrameCodecTest, PeekFrameSizeEnforcesTheLimit) {
  std::string small = Be32(100);
  ASSERT_OK_AND_ASSIGN(size_t n, PeekFrameSize(AsBytes(small)));
  EXPECT_EQ(n, 104u);
  ASSERT_OK_AND_ASSIGN(size_t none, PeekFrameSize(AsBytes(small.substr(0, 3))));
  EXPECT_EQ(none, 0u);
  std::string max = Be32(static_cast<uint32_t>(kDefaultMaxFrameLength));
  EXPECT_TRUE(
      PeekFrameSize(AsBytes(max)).ok());  // 16 MiB exactly is accepted (§1.2)
  std::string over = Be32(static_cast<uint32_t>(kDefaultMaxFrameLength + 1));
  EXPECT_FALSE(PeekFrameSize(AsBytes(over)).ok());
  EXPECT_FALSE(PeekFrameSize(AsBytes(Be32(3))).ok());
  EXPECT_FALSE(PeekFrameSize(AsBytes(Be32(0xFFFFFFFFu))).ok());
}

TEST(FrameCodecTest, JsonHeaderLeniency) {
  // C++ client style: trailing newline, numeric and boolean ext values, remark
  // "", member order of its own.
  std::string header =
      "{\"version\":333,\"remark\":\"\",\"opaque\":5,\"language\":\"CPP\","
      "\"flag\":2,\"extFields\":"
      "{\"queueId\":0,\"commitOffset\":\"9223372036854775807\",\"big\":"
      "9223372036854775807,\"k\":false,"
      "\"gone\":null,\"u\":\"\\u00e9\\ud83d\\ude00\"},\"code\":15,\"unknown\":["
      "1,{\"x\":2}]}\n";
  RemotingCommand cmd;
  ASSERT_OK(DecodeJsonHeader(header, &cmd));
  EXPECT_EQ(cmd.code(), 15);
  EXPECT_TRUE(cmd.IsOneway());
  EXPECT_EQ(cmd.language(), LanguageCode::kCpp);
  EXPECT_EQ(cmd.ExtOr("queueId", "x"), "0");
  EXPECT_EQ(cmd.ExtOr("big", ""), "9223372036854775807");
  EXPECT_EQ(cmd.ExtInt64Or("commitOffset", 0), INT64_MAX);
  EXPECT_EQ(cmd.ExtOr("k", ""), "false");
  EXPECT_FALSE(cmd.FindExt("gone").has_value());
  EXPECT_EQ(cmd.ExtOr("u", ""), "\xC3\xA9\xF0\x9F\x98\x80");
  // Java also accepts the language as an ordinal; unknown names become OTHER.
  RemotingCommand by_number;
  ASSERT_OK(DecodeJsonHeader(R"({"code":1,"language":9})", &by_number));
  EXPECT_EQ(by_number.language(), LanguageCode::kGo);
  RemotingCommand unknown;
  ASSERT_OK(DecodeJsonHeader(
      R"({"code":1,"language":"COBOL","extFields":null})", &unknown));
  EXPECT_EQ(unknown.language(), LanguageCode::kOther);
}

// The one-pass header decoder and the general reader agree on every header,
// accepted or not, including the shapes the one-pass decoder leaves to the
// general reader.
TEST(FrameCodecTest, OnePassJsonHeaderDecoderAgreesWithTheGeneralReader) {
  const std::vector<std::string> headers = {
      std::string(kSendV2Header),
      std::string(kSendV2ResponseHeader),
      R"({"code":1})",
      " \t{ \"code\" : 1 , \"opaque\" : -7 }\r\n",
      R"({"code":"12","opaque":"3","flag":" 1"})",
      R"({"code":1.0})",
      R"({"code":2147483648})",
      R"({"code":null})",
      R"({"opaque":1})",
      R"({})",
      R"([1])",
      R"({"code":1,"opaque":null,"opaque":5})",
      R"({"code":1,"opaque":5,"opaque":6})",
      R"({"code":1,"code":2})",
      R"({"code":1,"language":null,"language":"GO"})",
      R"({"code":1,"language":true})",
      R"({"code":1,"language":"9"})",
      R"({"code":1,"remark":null})",
      R"({"code":1,"remark":12.5e3})",
      R"({"code":1,"remark":false})",
      R"({"code":1,"remark":"a\"b\\c\/\b\f\n\r\t\u0001\ud83d\ude00\udc00"})",
      R"({"code":1,"extFields":{}})",
      R"({"code":1,"extFields":null})",
      R"({"code":1,"extFields":"x"})",
      R"({"code":1,"extFields":[]})",
      R"({"code":1,"extFields":{"a":1,"a":null,"b":"x","b":"y"}})",
      R"({"code":1,"extFields":{"n":{"x":[1,2]},"m":[true,null]}})",
      R"({"code":1,"extFields":{1:"bare key"}})",
      R"({"code":1,"extFields":{"k\u0041":"v","e":-0.5E+2,"t":true}})",
      R"({"code":1,"extFields":{"a":"1"},"extFields":{"b":"2"}})",
      R"({"code":1,"unknown":[1,{"x":2}],"other":{"y":null}})",
      R"({"code":1,"serializeTypeCurrentRPC":"JSON","x":true,"y":null})",
      R"({"code":1,} )",
      R"({"code":1 "opaque":2})",
      R"({"code":1}x)",
      R"({"code":1,"remark":"unterminated)",
      R"({"code":1,"remark":"\x"})",
      R"({"code":1,"flag":tru})",
      R"({"code":-})",
      R"({"code":01})",
  };
  for (const std::string& h : headers) {
    RemotingCommand fast, general;
    Status a = DecodeJsonHeader(h, &fast);
    Status b = DecodeJsonHeaderWithParser(h, &general);
    ASSERT_EQ(a.ToString(), b.ToString()) << h;
    EXPECT_EQ(fast.code(), general.code()) << h;
    EXPECT_EQ(fast.language(), general.language()) << h;
    EXPECT_EQ(fast.version(), general.version()) << h;
    EXPECT_EQ(fast.opaque(), general.opaque()) << h;
    EXPECT_EQ(fast.flag(), general.flag()) << h;
    EXPECT_EQ(fast.remark(), general.remark()) << h;
    EXPECT_EQ(fast.ext_fields(), general.ext_fields()) << h;
  }
}

TEST(RemotingCommandTest, ExtFieldsStaySortedAndUnique) {
  ExtFields f;
  f.insert_or_assign("m", "1");
  f.insert_or_assign("b", "2");
  f.insert_or_assign("z", "3");
  f.insert_or_assign("b", "4");
  f.insert_or_assign("a", "5");
  std::vector<std::pair<std::string, std::string>> items(f.begin(), f.end());
  EXPECT_EQ(items, (std::vector<std::pair<std::string, std::string>>{
                       {"a", "5"}, {"b", "4"}, {"m", "1"}, {"z", "3"}}));
  EXPECT_EQ(f.find("b")->second, "4");
  EXPECT_EQ(f.find("c"), f.end());
  EXPECT_EQ(f.erase("m"), 1u);
  EXPECT_EQ(f.erase("m"), 0u);
  EXPECT_EQ(f.size(), 3u);
  ExtFields g;
  g.insert_or_assign("z", "3");
  g.insert_or_assign("a", "5");
  g.insert_or_assign("b", "4");
  EXPECT_EQ(f, g);  // the same fields whatever the insertion order
}

TEST(FrameCodecTest, BodySegmentsAreCountedInTheLength) {
  RemotingCommand resp =
      SendV2Request().CreateResponse(response_code::kSuccess, "FOUND");
  resp.set_body(std::string_view("ab"));
  auto backing = std::make_shared<std::string>("cdefg");
  auto span = std::span<const std::byte>(
      reinterpret_cast<const std::byte*>(backing->data()), backing->size());
  resp.AddBodySegment(span.subspan(0, 2), backing);
  resp.AddBodySegment(span.subspan(2), backing);
  EXPECT_EQ(resp.TotalBodySize(), 7u);
  std::string prefix;
  ASSERT_OK(EncodeFramePrefix(resp, &prefix));
  EXPECT_EQ(static_cast<size_t>(LoadI32(prefix.data())), prefix.size() - 4 + 5);
  ASSERT_OK_AND_ASSIGN(std::string whole, EncodeFrame(resp));
  ASSERT_OK_AND_ASSIGN(RemotingCommand decoded, DecodeFrame(AsBytes(whole)));
  EXPECT_EQ(decoded.body_view(), "abcdefg");
  EXPECT_EQ(decoded.remark(), "FOUND");
}

TEST(RemotingCommandTest, TypedExtAccessors) {
  RemotingCommand cmd =
      RemotingCommand::CreateRequest(request_code::kPullMessage);
  cmd.SetExt("queueId", int32_t{3});
  cmd.SetExt("offset", int64_t{-5});
  cmd.SetExt("bad", "12x");
  cmd.SetExt("flagT", "TRUE");
  cmd.SetExt("empty", "");
  EXPECT_EQ(*cmd.RequireExtInt32("queueId"), 3);
  EXPECT_EQ(*cmd.RequireExtInt64("offset"), -5);
  Result<int32_t> missing = cmd.RequireExtInt32("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing header field nope"),
            std::string_view::npos);
  EXPECT_FALSE(cmd.RequireExtInt64("bad").ok());
  EXPECT_EQ(cmd.ExtInt32Or("bad", 9), 9);
  EXPECT_EQ(cmd.ExtInt32Or("empty", 8), 8);
  EXPECT_TRUE(cmd.ExtBoolOr("flagT", false));
  EXPECT_FALSE(cmd.ExtBoolOr("queueId", true));
  EXPECT_TRUE(cmd.ExtBoolOr("nope", true));
  cmd.SetExt("big", "4294967296");
  EXPECT_FALSE(cmd.RequireExtInt32("big").ok());
}

TEST(RemotingCommandTest, CreateResponseCopiesOpaqueAndSetsTheResponseFlag) {
  RemotingCommand req =
      RemotingCommand::CreateRequest(request_code::kHeartBeat);
  req.set_opaque(42);
  req.MarkOneway();
  RemotingCommand resp =
      req.CreateResponse(response_code::kSystemError, "boom");
  EXPECT_EQ(resp.opaque(), 42);
  EXPECT_EQ(resp.flag(), kFlagResponse);
  EXPECT_TRUE(resp.IsResponse());
  EXPECT_FALSE(resp.IsOneway());
  EXPECT_EQ(resp.remark(), "boom");
  EXPECT_EQ(resp.version(), kThrusterVersion);
  RemotingCommand err =
      req.CreateErrorResponse(Status::Busy("[REJECTREQUEST] queue full"));
  EXPECT_EQ(err.code(), response_code::kSystemBusy);
  EXPECT_EQ(err.remark(), "[REJECTREQUEST] queue full");
  EXPECT_EQ(ResponseCodeFromStatus(Status::Shutdown("x")),
            response_code::kServiceNotAvailable);
  EXPECT_EQ(ResponseCodeFromStatus(Status::Corruption("x")),
            response_code::kSystemError);
  EXPECT_EQ(ResponseCodeFromStatus(Status::OK()), response_code::kSuccess);
}

// A binary-header request keeps one copy of its frame: the fields and body
// point into it, so they outlive the read buffer, survive copies and moves of
// the command, and encode back to the same bytes.
TEST(FrameCodecTest, BinaryFrameDecodesIntoItsOwnCopy) {
  RemotingCommand request = SendV2Request();
  request.set_serialize_type(SerializeType::kRocketMq);
  ASSERT_OK_AND_ASSIGN(const std::string frame, EncodeFrame(request));
  std::string wire = frame;
  ASSERT_OK_AND_ASSIGN(RemotingCommand decoded, DecodeFrame(AsBytes(wire)));
  wire.assign(wire.size(), 'x');  // the read buffer is reused
  EXPECT_EQ(decoded.ext_fields(), request.ext_fields());
  EXPECT_EQ(decoded.body_view(), "Hello");
  RemotingCommand copy = decoded;
  RemotingCommand moved = std::move(decoded);
  decoded = RemotingCommand();
  EXPECT_EQ(copy.ext_fields(), request.ext_fields());
  EXPECT_EQ(moved.ext_fields(), request.ext_fields());
  EXPECT_EQ(moved.ExtOr("b", ""), "TopicTest");
  ASSERT_OK_AND_ASSIGN(std::string again, EncodeFrame(moved));
  EXPECT_EQ(again, frame);
  ASSERT_OK_AND_ASSIGN(std::string from_copy, EncodeFrame(copy));
  EXPECT_EQ(from_copy, frame);
  // A field set on the decoded command joins the borrowed ones in order.
  moved.SetExt("bb", int64_t{-12});
  moved.SetExt("a", "PG2");
  EXPECT_EQ(moved.ExtOr("bb", ""), "-12");
  EXPECT_EQ(moved.ExtOr("a", ""), "PG2");
  EXPECT_EQ(std::next(moved.ext_fields().find("b"))->first, "bb");
  // set_body replaces the frame's body.
  moved.set_body(std::string_view("other"));
  EXPECT_EQ(moved.body_view(), "other");
  EXPECT_EQ(copy.body_view(), "Hello");
}

// Wire order does not matter: a binary header's fields come out sorted by
// name, a repeated name keeps its later value, and the re-encoded header lists
// them in that order, as a command built field by field does.
TEST(FrameCodecTest, BinaryHeaderFieldsAreSortedOnceDecoded) {
  std::string header;
  ByteWriter w(&header);
  w.I16(310);
  w.I8(0);
  w.I16(409);
  w.I32(5);
  w.I32(0);
  w.I32(0);  // no remark
  std::string ext;
  ByteWriter e(&ext);
  for (auto [k, v] :
       {std::pair{"zz", "1"}, std::pair{"b", "2"}, std::pair{"a", "3"},
        std::pair{"b", "4"}, std::pair{"B", "5"}, std::pair{"", "6"}}) {
    e.I16(static_cast<int16_t>(std::string_view(k).size()));
    e.Bytes(AsBytes(std::string_view(k)));
    e.I32(static_cast<int32_t>(std::string_view(v).size()));
    e.Bytes(AsBytes(std::string_view(v)));
  }
  w.I32(static_cast<int32_t>(ext.size()));
  w.Bytes(AsBytes(ext));
  const std::string frame =
      Be32(static_cast<uint32_t>(4 + header.size() + 2)) +
      Be32((1u << 24) | static_cast<uint32_t>(header.size())) + header + "hi";
  ASSERT_OK_AND_ASSIGN(RemotingCommand decoded, DecodeFrame(AsBytes(frame)));
  std::vector<std::pair<std::string, std::string>> items(
      decoded.ext_fields().begin(), decoded.ext_fields().end());
  EXPECT_EQ(items, (std::vector<std::pair<std::string, std::string>>{
                       {"B", "5"}, {"a", "3"}, {"b", "4"}, {"zz", "1"}}));
  RemotingCommand built = RemotingCommand::CreateRequest(310);
  built.set_version(409);
  built.set_opaque(5);
  built.set_serialize_type(SerializeType::kRocketMq);
  built.SetExt("zz", "1");
  built.SetExt("b", "4");
  built.SetExt("a", "3");
  built.SetExt("B", "5");
  built.set_body(std::string_view("hi"));
  EXPECT_EQ(decoded.ext_fields(), built.ext_fields());
  ASSERT_OK_AND_ASSIGN(std::string from_decoded, EncodeFrame(decoded));
  ASSERT_OK_AND_ASSIGN(std::string from_built, EncodeFrame(built));
  EXPECT_EQ(from_decoded, from_built);
  // A cut header is still an error.
  std::string cut = frame.substr(0, frame.size() - 2 - 3);
  cut.replace(0, 4, Be32(static_cast<uint32_t>(cut.size() - 4)));
  cut.replace(4, 4, Be32((1u << 24) | static_cast<uint32_t>(cut.size() - 8)));
  Result<RemotingCommand> bad = DecodeFrame(AsBytes(cut));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsCorruption()) << bad.status().ToString();
}

// ExtFields' own text (values set one by one, small and large, in several
// blocks) survives copies and moves of the fields; copies are independent.
TEST(RemotingCommandTest, ExtFieldsCopiesOwnTheirText) {
  ExtFields f;
  const std::string big(1000, 'v');
  for (int i = 0; i < 40; ++i)
    f.insert_or_assign(fmt::format("name{:02}", i), fmt::format("value{}", i));
  f.insert_or_assign("big", big);
  f.AssignInt("n", -9223372036854775807 - 1);
  ExtFields copy(f);
  ExtFields moved(std::move(f));
  f = ExtFields();
  f.insert_or_assign("other", "x");
  EXPECT_EQ(copy, moved);
  EXPECT_EQ(copy.size(), 42u);
  EXPECT_EQ(copy.find("big")->second, big);
  EXPECT_EQ(copy.find("n")->second, "-9223372036854775808");
  EXPECT_EQ(copy.find("name39")->second, "value39");
  moved.insert_or_assign("name00", "changed");
  EXPECT_EQ(copy.find("name00")->second, "value0");
  ExtFields assigned;
  assigned.insert_or_assign("gone", "y");
  assigned = moved;
  EXPECT_EQ(assigned, moved);
  EXPECT_FALSE(assigned.contains("gone"));
  assigned = std::move(copy);
  EXPECT_EQ(assigned.find("name00")->second, "value0");
}

}  // namespace
}  // namespace thruster::remoting
