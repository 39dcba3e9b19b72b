#include "proxy/proxy_util.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "message/message.h"

namespace thruster::proxy {
namespace {

// Guava's own compatibility values for Hashing.consistentHash: a message group
// must land on the queue a Java proxy would pick.
TEST(ProxyUtilTest, ConsistentHashMatchesGuava) {
  const std::vector<int32_t> golden100 = {0,  55, 62, 8,  45, 59, 86,
                                          97, 82, 59, 73, 37, 17, 56,
                                          86, 21, 90, 37, 38, 83};
  for (size_t i = 0; i < golden100.size(); ++i)
    EXPECT_EQ(ConsistentHash(static_cast<int64_t>(i), 100), golden100[i]) << i;
  EXPECT_EQ(ConsistentHash(10863919174838991LL, 11), 6);
  EXPECT_EQ(ConsistentHash(2016238256797177309LL, 11), 3);
  EXPECT_EQ(ConsistentHash(1673758223894951030LL, 11), 5);
  EXPECT_EQ(ConsistentHash(2, 100001), 80343);
  EXPECT_EQ(ConsistentHash(2201, 100001), 22152);
  EXPECT_EQ(ConsistentHash(2202, 100001), 15018);
  EXPECT_EQ(ConsistentHash(12345, 1), 0);
}

TEST(ProxyUtilTest, MessageGroupHashesItsJavaHashCode) {
  // jhash is Java's String.hashCode, sign-extended into the generator.
  const int32_t h = message::JHash("order-1");
  for (int32_t n : {1, 4, 8, 16})
    EXPECT_EQ(QueueForMessageGroup("order-1", n), ConsistentHash(h, n));
  // A group whose hash code is negative is sign-extended, not zero-extended.
  std::string g = "group-0";
  for (int i = 1; message::JHash(g) >= 0 && i < 1000; ++i)
    g = "group-" + std::to_string(i);
  ASSERT_LT(message::JHash(g), 0);
  EXPECT_EQ(QueueForMessageGroup(g, 16),
            ConsistentHash(static_cast<int64_t>(message::JHash(g)), 16));
  EXPECT_NE(ConsistentHash(static_cast<int64_t>(message::JHash(g)), 1 << 20),
            ConsistentHash(static_cast<int64_t>(static_cast<uint32_t>(
                               message::JHash(g))),
                           1 << 20));
}

TEST(ProxyUtilTest, ReceiptHandleIsThePopHandlePlusTheCommitLogOffset) {
  remoting::PopExtraInfo h;
  h.ck_queue_offset = 100;
  h.pop_time = 1700000000000;
  h.invisible_time = 60000;
  h.revive_qid = 3;
  h.retry_flag = 0;
  h.broker_name = "broker-a";
  h.queue_id = 2;
  h.queue_offset = 103;
  h.commit_log_offset = 52345;
  const std::string text = EncodeReceiptHandle(h);
  EXPECT_EQ(text, "100 1700000000000 60000 3 0 broker-a 2 103 52345");
  Result<remoting::PopExtraInfo> back = ParseReceiptHandle(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->queue_offset, 103);
  EXPECT_EQ(back->commit_log_offset, 52345);
  // Eight fields: no commit-log offset (DLQ forwarding refuses it).
  Result<remoting::PopExtraInfo> eight =
      ParseReceiptHandle("100 1700000000000 60000 3 0 broker-a 2 103");
  ASSERT_TRUE(eight.ok());
  EXPECT_EQ(eight->commit_log_offset, -1);
  EXPECT_FALSE(ParseReceiptHandle("not a handle").ok());
  EXPECT_FALSE(ParseReceiptHandle("").ok());
}

TEST(ProxyUtilTest, AckTopicFollowsTheRetryFlag) {
  EXPECT_EQ(PopAckTopic("G", "T", remoting::pop::kNormalTopic), "T");
  EXPECT_EQ(PopAckTopic("G", "T", remoting::pop::kRetryTopicV1),
            "%RETRY%G_T");
  EXPECT_EQ(PopAckTopic("G", "T", remoting::pop::kRetryTopicV2),
            "%RETRY%G+T");
}

TEST(ProxyUtilTest, PollingTimeIsClampedAsTheProxyDoes) {
  // Requested 30 s, plenty of deadline: the 20 s maximum.
  EXPECT_EQ(*ClampPollingTime(30000, 33000, 3000, 5000, 20000), 20000);
  // Requested 1 s: the 5 s minimum.
  EXPECT_EQ(*ClampPollingTime(1000, 33000, 3000, 5000, 20000), 5000);
  // Not requested: the deadline less half the request timeout.
  EXPECT_EQ(*ClampPollingTime(-1, 12000, 3000, 5000, 20000), 10500);
  // A deadline shorter than the poll but at least the minimum: the deadline.
  EXPECT_EQ(*ClampPollingTime(20000, 7000, 3000, 5000, 20000), 7000);
  // Shorter than the minimum: refused (ILLEGAL_POLLING_TIME).
  EXPECT_FALSE(ClampPollingTime(20000, 4000, 3000, 5000, 20000).ok());
}

}  // namespace
}  // namespace thruster::proxy
