#include "broker/query_message_processor.h"

#include "tests/broker/processor_test_util.h"

namespace thruster::broker {
namespace {

using ::testing::HasSubstr;

class QueryMessageProcessorTest : public ProcessorTest {
 protected:
  void SetUp() override {
    ProcessorTest::SetUp();
    processor_ = std::make_unique<QueryMessageProcessor>(context_, *store_);
  }
  RemotingCommand Query(
      int32_t code,
      std::initializer_list<std::pair<std::string, std::string>> ext) {
    return Call(*processor_, Request(code, ext));
  }

  std::unique_ptr<QueryMessageProcessor> processor_;
};

TEST_F(QueryMessageProcessorTest, QueryByKeyReturnsTheMatchingRecords) {
  Put("TQ", 0, "one", "A", "k1");
  Put("TQ", 1, "two", "A", "k2");
  Put("TQ", 0, "three", "A", "k1");
  RemotingCommand resp = Query(req_code::kQueryMessage,
                               {{"topic", "TQ"},
                                {"key", "k1"},
                                {"maxNum", "32"},
                                {"beginTimestamp", "0"},
                                {"endTimestamp", std::to_string(INT64_MAX)}});
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  std::vector<Record> recs = DecodeRecords(resp.body());
  ASSERT_EQ(recs.size(), 2u);
  for (const Record& r : recs)
    EXPECT_EQ(message::FindProperty(r.properties, "KEYS"), "k1");
  EXPECT_TRUE(resp.FindExt("indexLastUpdateTimestamp").has_value());
  EXPECT_TRUE(resp.FindExt("indexLastUpdatePhyoffset").has_value());
}

TEST_F(QueryMessageProcessorTest, MaxNumLimitsTheAnswer) {
  for (int i = 0; i < 3; ++i) Put("TQ", 0, "m", "A", "same");
  RemotingCommand resp =
      Query(req_code::kQueryMessage,
            {{"topic", "TQ"}, {"key", "same"}, {"maxNum", "2"}});
  ASSERT_EQ(resp.code(), rc::kSuccess);
  EXPECT_EQ(DecodeRecords(resp.body()).size(), 2u);
}

TEST_F(QueryMessageProcessorTest, UnknownKeyOrMissingFieldFails) {
  Put("TQ", 0, "one", "A", "k1");
  RemotingCommand none =
      Query(req_code::kQueryMessage, {{"topic", "TQ"}, {"key", "nope"}});
  EXPECT_EQ(none.code(), rc::kQueryNotFound);
  EXPECT_THAT(none.remark(), HasSubstr("can not find message"));
  RemotingCommand missing = Query(req_code::kQueryMessage, {{"topic", "TQ"}});
  EXPECT_EQ(missing.code(), rc::kSystemError);
  EXPECT_THAT(missing.remark(), HasSubstr("key"));
}

TEST_F(QueryMessageProcessorTest, ViewByIdReturnsTheRecordAtTheOffset) {
  Put("TV", 0, "first");
  const int64_t phys = Put("TV", 0, "second");
  RemotingCommand resp =
      Query(req_code::kViewMessageById, {{"offset", std::to_string(phys)}});
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  std::vector<Record> recs = DecodeRecords(resp.body());
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].body, "second");
  EXPECT_EQ(recs[0].phys_offset, phys);
}

TEST_F(QueryMessageProcessorTest, ViewByIdOfNoRecordFails) {
  Put("TV", 0, "first");
  RemotingCommand bad =
      Query(req_code::kViewMessageById, {{"offset", "123456789"}});
  EXPECT_EQ(bad.code(), rc::kSystemError);
  EXPECT_THAT(bad.remark(), HasSubstr("can not find message by the offset"));
  RemotingCommand missing = Query(req_code::kViewMessageById, {});
  EXPECT_EQ(missing.code(), rc::kSystemError);
  EXPECT_THAT(missing.remark(), HasSubstr("offset"));
}

}  // namespace
}  // namespace thruster::broker
