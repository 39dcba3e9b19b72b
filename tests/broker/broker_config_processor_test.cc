#include "broker/broker_config_processor.h"

#include "common/logging.h"
#include "tests/broker/processor_test_util.h"

namespace thruster::broker {
namespace {

using ::testing::HasSubstr;

class BrokerConfigProcessorTest : public ProcessorTest {
 protected:
  void SetUp() override {
    ProcessorTest::SetUp();
    config_.flush_consumer_offset_interval = 5000;
    runtime_ =
        std::make_unique<RuntimeConfig>(config_, store_config_, 1700000000000);
    processor_ = std::make_unique<BrokerConfigProcessor>(context_, *runtime_);
  }
  Properties GetConfig() {
    RemotingCommand resp =
        Call(*processor_, Request(req_code::kGetBrokerConfig, {}));
    EXPECT_EQ(resp.code(), rc::kSuccess);
    last_version_ = std::string(resp.ExtOr("version", ""));
    return Properties::Parse(resp.body_view());
  }
  RemotingCommand Update(std::string_view body) {
    return Call(*processor_, Request(req_code::kUpdateBrokerConfig, {}, body));
  }

  std::unique_ptr<RuntimeConfig> runtime_;
  std::unique_ptr<BrokerConfigProcessor> processor_;
  std::string last_version_;
};

TEST_F(BrokerConfigProcessorTest, GetAnswersEveryKeyWithItsValue) {
  Properties p = GetConfig();
  EXPECT_EQ(p.values().at("brokerName"), "broker-t");
  EXPECT_EQ(p.values().at("brokerClusterName"), "TestCluster");
  EXPECT_EQ(p.values().at("storePathRootDir"), "/store");
  EXPECT_EQ(p.values().at("mappedFileSizeCommitLog"), "1048576");
  EXPECT_EQ(p.values().at("flushDiskType"), "ASYNC_FLUSH");
  EXPECT_EQ(p.values().at("fileReservedTime"), "72");
  EXPECT_THAT(last_version_, HasSubstr("\"counter\":0"));
  // Every key reads back through the parsers startup uses, to the same values.
  ASSERT_OK_AND_ASSIGN(BrokerConfig b, BrokerConfig::FromProperties(p));
  ASSERT_OK_AND_ASSIGN(store::MessageStoreConfig s,
                       store::MessageStoreConfig::FromProperties(p));
  RuntimeConfig again(b, s, 0);
  EXPECT_EQ(again.Entries(), runtime_->Entries());
}

TEST_F(BrokerConfigProcessorTest, HotKeysChangeWithoutRestart) {
  RemotingCommand resp =
      Update("flushConsumerOffsetInterval=1000\nchannelExpiredTimeout=30000\n");
  ASSERT_EQ(resp.code(), rc::kSuccess) << resp.remark();
  EXPECT_EQ(runtime_->flush_consumer_offset_interval(), 1000);
  EXPECT_EQ(runtime_->channel_expired_timeout(), 30000);
  Properties p = GetConfig();
  EXPECT_EQ(p.values().at("flushConsumerOffsetInterval"), "1000");
  EXPECT_THAT(last_version_, HasSubstr("\"counter\":1"));
  // registerNameServerPeriod is clamped to 10 s..60 s, as at startup.
  ASSERT_EQ(Update("registerNameServerPeriod=1").code(), rc::kSuccess);
  EXPECT_EQ(runtime_->register_name_server_period(), 10000);
}

TEST_F(BrokerConfigProcessorTest, OtherKeysAreRefusedAndNothingChanges) {
  RemotingCommand cold =
      Update("flushConsumerOffsetInterval=1000\nfileReservedTime=1\n");
  EXPECT_EQ(cold.code(), rc::kSystemError);
  EXPECT_THAT(cold.remark(), HasSubstr("fileReservedTime"));
  EXPECT_THAT(cold.remark(), HasSubstr("restart"));
  EXPECT_EQ(runtime_->flush_consumer_offset_interval(), 5000);
  RemotingCommand unknown = Update("noSuchKey=1");
  EXPECT_EQ(unknown.code(), rc::kSystemError);
  EXPECT_THAT(unknown.remark(), HasSubstr("unknown config key noSuchKey"));
  RemotingCommand bad = Update("flushConsumerOffsetInterval=soon");
  EXPECT_EQ(bad.code(), rc::kSystemError);
  EXPECT_THAT(bad.remark(), HasSubstr("flushConsumerOffsetInterval"));
  EXPECT_EQ(Update("flushConsumerOffsetInterval=0").code(), rc::kSystemError);
  EXPECT_EQ(Update("").code(), rc::kSystemError);
  // A cold key sent with its current value is no change, so it is accepted.
  EXPECT_EQ(Update("brokerName=broker-t").code(), rc::kSuccess);
  EXPECT_EQ(runtime_->flush_consumer_offset_interval(), 5000);
  GetConfig();
  EXPECT_THAT(last_version_, HasSubstr("\"counter\":0"));
}

// logLevel changes the process's log level at once (and reads back); a bad
// level is refused and changes nothing.
TEST_F(BrokerConfigProcessorTest, LogLevelChangesWithoutRestart) {
  const logging::Level before = logging::GetLevel();
  ASSERT_EQ(Update("logLevel=ERROR\n").code(), rc::kSuccess);
  EXPECT_EQ(logging::GetLevel(), logging::Level::kError);
  EXPECT_EQ(GetConfig().values().at("logLevel"), "ERROR");
  EXPECT_THAT(last_version_, HasSubstr("\"counter\":1"));
  RemotingCommand bad = Update("logLevel=LOUD\n");
  EXPECT_EQ(bad.code(), rc::kSystemError);
  EXPECT_THAT(bad.remark(), HasSubstr("logLevel"));
  EXPECT_EQ(logging::GetLevel(), logging::Level::kError);
  // A refused update that names logLevel next to a cold key changes neither.
  EXPECT_EQ(Update("logLevel=DEBUG\nfileReservedTime=1\n").code(),
            rc::kSystemError);
  EXPECT_EQ(logging::GetLevel(), logging::Level::kError);
  logging::SetLevel(before);
}

}  // namespace
}  // namespace thruster::broker
