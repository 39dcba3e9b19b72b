#include "remoting/json.h"

#include <gtest/gtest.h>

#include "remoting/register_broker_body.h"
#include "remoting/route_data.h"
#include "tests/support/test_util.h"

namespace thruster::remoting {
namespace {

using json::Value;

TEST(JsonTest, ParsesBareNumericKeys) {
  ASSERT_OK_AND_ASSIGN(
      Value v,
      json::Parse(
          R"({"brokerAddrs":{0:"127.0.0.1:20911",1:"127.0.0.1:20921"}})"));
  const Value* addrs = v.Find("brokerAddrs");
  ASSERT_NE(addrs, nullptr);
  ASSERT_EQ(addrs->size(), 2u);
  EXPECT_TRUE(addrs->key(0).is_number());
  EXPECT_EQ(addrs->key(1).text(), "1");
  ASSERT_NE(addrs->Find("1"), nullptr);
  EXPECT_EQ(addrs->Find("1")->text(), "127.0.0.1:20921");
}

TEST(JsonTest, ParsesObjectKeys) {
  ASSERT_OK_AND_ASSIGN(
      Value v,
      json::Parse(
          R"({"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:{"brokerOffset":5}}})"));
  const Value* table = v.Find("offsetTable");
  ASSERT_NE(table, nullptr);
  ASSERT_EQ(table->size(), 1u);
  ASSERT_TRUE(table->key(0).is_object());
  EXPECT_EQ(table->key(0).GetString("topic"), "T");
  EXPECT_EQ(table->value(0).GetInt64("brokerOffset"), 5);
}

TEST(JsonTest, WritesKeysInTheFormTheyHave) {
  Value mq = Value::Object();
  mq.Set("brokerName", Value::String("b"));
  mq.Set("queueId", Value::Int(0));
  mq.Set("topic", Value::String("T"));
  Value table = Value::Object();
  table.Add(mq, Value::Int(12));
  Value addrs = Value::Object();
  addrs.Add(Value::Int(0), Value::String("a:1"));
  addrs.Set("1", Value::String("b:2"));
  Value root = Value::Object();
  root.Set("offsetTable", std::move(table));
  root.Set("brokerAddrs", std::move(addrs));
  EXPECT_EQ(
      json::Write(root),
      R"({"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:12},"brokerAddrs":{0:"a:1","1":"b:2"}})");
  // And what we write, we read back the same.
  ASSERT_OK_AND_ASSIGN(Value again, json::Parse(json::Write(root)));
  EXPECT_EQ(again, root);
}

TEST(JsonTest, KeepsExactNumberText) {
  ASSERT_OK_AND_ASSIGN(
      Value v,
      json::Parse(R"([9223372036854775807,-9223372036854775808,1.50,1e3,0])"));
  EXPECT_EQ(v.at(0).text(), "9223372036854775807");
  EXPECT_EQ(v.at(0).AsInt64(), INT64_MAX);
  EXPECT_EQ(v.at(1).AsInt64(), INT64_MIN);
  EXPECT_EQ(v.at(2).text(), "1.50");
  EXPECT_FALSE(v.at(2).AsInt64().has_value());
  EXPECT_DOUBLE_EQ(*v.at(3).AsDouble(), 1000.0);
  EXPECT_EQ(json::Write(v),
            "[9223372036854775807,-9223372036854775808,1.50,1e3,0]");
  ASSERT_OK_AND_ASSIGN(Value over, json::Parse("92233720368547758070"));
  EXPECT_FALSE(over.AsInt64().has_value());
  EXPECT_EQ(over.text(), "92233720368547758070");
}

TEST(JsonTest, CoercesBetweenScalarTypes) {
  ASSERT_OK_AND_ASSIGN(
      Value v,
      json::Parse(
          R"({"a":"42","b":42,"c":true,"d":"TRUE","e":"yes","f":null,"g":[1]})"));
  EXPECT_EQ(v.GetInt64("a"), 42);
  EXPECT_EQ(v.GetInt64("b"), 42);
  EXPECT_EQ(v.GetString("b"), "42");
  EXPECT_EQ(v.GetString("c"), "true");
  EXPECT_TRUE(v.GetBool("c"));
  EXPECT_TRUE(v.GetBool("d"));
  EXPECT_FALSE(v.GetBool("e", true));  // Java's Boolean.parseBoolean
  EXPECT_EQ(v.GetInt64("f", 7), 7);    // null means absent
  EXPECT_EQ(v.GetString("g", "x"), "x");
  EXPECT_EQ(v.GetInt64("missing", -1), -1);
}

TEST(JsonTest, AcceptsWhitespaceAndEscapes) {
  ASSERT_OK_AND_ASSIGN(
      Value v,
      json::Parse(
          " \r\n{ \"s\" : "
          "\"a\\\"b\\\\c\\/d\\u0001\\u0002\\t\\ud83d\\ude00\u00e9\" } \n"));
  EXPECT_EQ(v.GetString("s"), "a\"b\\c/d\x01\x02\t\xF0\x9F\x98\x80\xC3\xA9");
  // Control characters are escaped on output; raw UTF-8 is not.
  EXPECT_EQ(
      json::Write(v),
      "{\"s\":\"a\\\"b\\\\c/d\\u0001\\u0002\\t\xF0\x9F\x98\x80\xC3\xA9\"}");
  ASSERT_OK_AND_ASSIGN(Value lone, json::Parse(R"("\ud800x")"));
  EXPECT_EQ(lone.text(), "\xEF\xBF\xBDx");
}

TEST(JsonTest, RejectsMalformedInput) {
  for (std::string_view bad :
       {"", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "tru", "\"abc", "01x", "-",
        "1.", "{a:1}", "[1] 2", "\"\\x\"", "\"\\u12\""}) {
    EXPECT_FALSE(json::Parse(bad).ok()) << bad;
  }
  std::string deep(300, '[');
  deep += std::string(300, ']');
  EXPECT_FALSE(json::Parse(deep).ok());
}

TEST(JsonTest, DoublesLookLikeFastjson) {
  EXPECT_EQ(json::Write(Value::Double(0)), "0.0");
  EXPECT_EQ(json::Write(Value::Double(1.5)), "1.5");
  EXPECT_EQ(json::Write(Value::Double(100)), "100.0");
}

TEST(RouteDataTest, RouteInBothKeyForms) {
  TopicRouteData route;
  QueueData q;
  q.broker_name = "broker-a";
  q.read_queue_nums = 4;
  q.write_queue_nums = 4;
  q.perm = 6;
  route.queue_datas.push_back(q);
  BrokerData b;
  b.cluster = "DefaultCluster";
  b.broker_name = "broker-a";
  b.broker_addrs[0] = "127.0.0.1:20911";
  route.broker_datas.push_back(b);
  // Byte-for-byte what RocketMQ 4.9.8 sent an ali-ons client (fixtures/wire
  // frame 9).
  EXPECT_EQ(
      json::Write(route.ToJson(/*bare_numeric_keys=*/true)),
      R"({"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:20911"},"brokerName":"broker-a",)"
      R"("cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a",)"
      R"("perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]})");
  std::string standard = json::Write(route.ToJson(/*bare_numeric_keys=*/false));
  EXPECT_NE(standard.find(R"("brokerAddrs":{"0":"127.0.0.1:20911"})"),
            std::string::npos);
  for (bool bare : {true, false}) {
    ASSERT_OK_AND_ASSIGN(
        TopicRouteData parsed,
        TopicRouteData::Parse(json::Write(route.ToJson(bare))));
    ASSERT_EQ(parsed.broker_datas.size(), 1u);
    EXPECT_EQ(parsed.broker_datas[0], b);
    ASSERT_EQ(parsed.queue_datas.size(), 1u);
    EXPECT_EQ(parsed.queue_datas[0], q);
  }
}

TEST(RouteDataTest, TopicConfigAcceptsOldSysFlagSpelling) {
  ASSERT_OK_AND_ASSIGN(
      Value v,
      json::Parse(
          R"({"topicName":"T","topicSynFlag":3,"perm":"7","order":"true"})"));
  TopicConfig t = TopicConfig::FromJson(v);
  EXPECT_EQ(t.topic_name, "T");
  EXPECT_EQ(t.topic_sys_flag, 3);
  EXPECT_EQ(t.perm, 7);
  EXPECT_TRUE(t.order);
  EXPECT_EQ(t.read_queue_nums, 16);
}

RegisterBrokerBody SampleBody() {
  RegisterBrokerBody body;
  body.data_version = DataVersion{3, 0, 1700000000000};
  TopicConfig t;
  t.topic_name = "TopicTest";
  t.read_queue_nums = 4;
  t.write_queue_nums = 4;
  body.topic_configs.push_back(t);
  TopicConfig tbw;
  tbw.topic_name = "TBW102";
  tbw.read_queue_nums = 8;
  tbw.write_queue_nums = 8;
  tbw.perm = 7;
  tbw.attributes["+message.type"] = "NORMAL";
  body.topic_configs.push_back(tbw);
  return body;
}

TEST(RegisterBrokerBodyTest, PlainFormMatchesTheSpecExample) {
  RegisterBrokerBody body = SampleBody();
  body.topic_configs.pop_back();
  body.topic_configs[0].attributes.clear();
  EXPECT_EQ(
      body.EncodeJson(),
      R"({"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":3,"stateVersion":0,)"
      R"("timestamp":1700000000000},"topicConfigTable":{"TopicTest":{"order":false,"perm":6,)"
      R"("readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,)"
      R"("writeQueueNums":4}}}})");
  ASSERT_OK_AND_ASSIGN(RegisterBrokerBody back,
                       RegisterBrokerBody::DecodeJson(body.EncodeJson()));
  EXPECT_EQ(back.data_version, body.data_version);
  EXPECT_EQ(back.topic_configs, body.topic_configs);
}

TEST(RegisterBrokerBodyTest, CompressedFormRoundTrips) {
  RegisterBrokerBody body = SampleBody();
  body.filter_server_list = {"10.0.0.1:1"};
  ASSERT_OK_AND_ASSIGN(std::string z, body.EncodeCompressed());
  ASSERT_FALSE(z.empty());
  EXPECT_EQ(static_cast<uint8_t>(z[0]), 0x78);  // zlib header
  auto bytes = std::span<const std::byte>(
      reinterpret_cast<const std::byte*>(z.data()), z.size());
  // `compressed=false` with a zlib body is still recognised (RocketMQ 5.x
  // quirk).
  for (bool flag : {true, false}) {
    ASSERT_OK_AND_ASSIGN(RegisterBrokerBody back,
                         RegisterBrokerBody::Decode(bytes, flag));
    EXPECT_EQ(back.data_version, body.data_version);
    ASSERT_EQ(back.topic_configs.size(), 2u);
    EXPECT_EQ(back.topic_configs[0].topic_name, "TopicTest");
    EXPECT_EQ(back.topic_configs[1].perm, 7);
    EXPECT_EQ(back.topic_configs[1].read_queue_nums, 8);
    EXPECT_EQ(back.topic_configs[1].attributes.at("+message.type"), "NORMAL");
    EXPECT_EQ(back.filter_server_list, body.filter_server_list);
  }
  EXPECT_FALSE(
      RegisterBrokerBody::DecodeCompressed(bytes.subspan(0, bytes.size() / 2))
          .ok());
}

}  // namespace
}  // namespace thruster::remoting
