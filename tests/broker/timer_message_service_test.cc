// 5.x timer messages (spec/schedule-and-timer.md §5, §6): the formats of
// timerwheel / timerlog / timercheck, the put-time transform, and a broker on
// real files with a ManualClock driven over the protocol: delivery at the
// right second, order across slots, roll-over beyond the window, cancels,
// restart (clean and unclean) and many pending timers.
#include "broker/timer_message_service.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "broker/broker.h"
#include "common/coding.h"
#include "common/hex.h"
#include "message/commit_log_format.h"
#include "message/properties.h"
#include "remoting/remoting_client.h"
#include "store/timer_format.h"
#include "store/timer_log.h"
#include "store/timer_wheel.h"
#include "tests/broker/record_util.h"
#include "tests/support/test_util.h"

namespace thruster::broker {
namespace {

using namespace std::chrono_literals;
using remoting::RemotingCommand;
namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;
namespace tf = store::timer_format;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kT0 = 1700000000000;

TEST(TimerFormatTest, SlotAndUnitBytesAreRocketMQs) {
  // spec §6.1: 1 700 000 005 000 at P = 1000, one unit at position 0.
  std::vector<std::byte> slot(tf::kSlotSize);
  tf::EncodeSlot(tf::Slot{1700000005, 0, 0, 1, 0}, slot);
  EXPECT_EQ(testing::UpperHex(slot),
            "000000006553F105"
            "0000000000000000"
            "0000000000000000"
            "0000000100000000");
  EXPECT_EQ(tf::DecodeSlot(slot), (tf::Slot{1700000005, 0, 0, 1, 0}));
  EXPECT_EQ((1700000005 % tf::kSlotsTotal) * 32, 16384160);
  // spec §6.2's example unit.
  tf::Unit u;
  u.prev_pos = -1;
  u.enqueue_time = 1700000000000;
  u.delay = 5000;
  u.offset_py = 123456;
  u.size_py = 300;
  u.topic_hash = message::JHash("TopicTest");
  std::vector<std::byte> unit(tf::kUnitSize);
  tf::EncodeUnit(u, unit);
  EXPECT_EQ(testing::UpperHex(unit),
            "00000034FFFFFFFFFFFFFFFF00000001"
            "0000018BCFE56800"
            "00001388000000000001E2400000012C"
            "8E987641"
            "0000000000000000");
  EXPECT_EQ(tf::DecodeUnit(unit), u);
  unit[12] = std::byte{0x08};  // magic bit 3: not a unit
  EXPECT_FALSE(tf::DecodeUnit(unit).has_value());
  std::vector<std::byte> cp(tf::kCheckpointSize);
  tf::EncodeCheckpoint(tf::Checkpoint{1, 2, 3, 4, 5, 6, 7}, cp);
  EXPECT_EQ(LoadI64(cp.data() + 16), 3);
  EXPECT_EQ(tf::DecodeCheckpoint(cp), (tf::Checkpoint{1, 2, 3, 4, 5, 6, 7}));
}

TEST(TimerLogTest, RollsSegmentsWithABlankAndTruncatesAtTheFirstBadUnit) {
  testing::TempDir dir;
  store::io::FileSystem* fs = store::io::DefaultFileSystem();
  const std::string path = dir.path() + "/timerlog";
  // Three units and a blank fit in 200 bytes; the fourth starts segment 200.
  {
    ASSERT_OK_AND_ASSIGN(auto log, store::TimerLog::Open(fs, path, 200));
    ASSERT_OK_AND_ASSIGN(int64_t end, log->Recover(0, [](auto, auto&) {}));
    EXPECT_EQ(end, 0);
    for (int i = 0; i < 5; ++i) {
      tf::Unit u;
      u.offset_py = i;
      ASSERT_OK_AND_ASSIGN(int64_t pos, log->Append(u));
      EXPECT_EQ(pos, i < 3 ? i * 52 : 200 + (i - 3) * 52) << i;
    }
    ASSERT_OK(log->Sync());
  }
  // A torn unit after the fifth (a size, no magic): recovery stops there.
  {
    ASSERT_OK_AND_ASSIGN(auto region,
                         fs->Map(path + "/00000000000000000200", 200,
                                 store::io::OpenMode::kOpenExisting));
    StoreI32(region->bytes().data() + 104, 52);
  }
  ASSERT_OK_AND_ASSIGN(auto log, store::TimerLog::Open(fs, path, 200));
  std::vector<int64_t> seen;
  ASSERT_OK_AND_ASSIGN(int64_t end,
                       log->Recover(0, [&](int64_t, const tf::Unit& u) {
                         seen.push_back(u.offset_py);
                       }));
  EXPECT_THAT(seen, ElementsAre(0, 1, 2, 3, 4));
  EXPECT_EQ(end, 304);
  ASSERT_TRUE(log->Read(252).has_value());
  EXPECT_EQ(log->Read(252)->offset_py, 4);
  EXPECT_FALSE(log->Read(304).has_value());
}

TEST(TimerWheelTest, RefusesAFileOfAnotherSize) {
  testing::TempDir dir;
  store::io::FileSystem* fs = store::io::DefaultFileSystem();
  ASSERT_OK(fs->WriteFile(dir.path() + "/timerwheel", "short"));
  Result<std::unique_ptr<store::TimerWheel>> w =
      store::TimerWheel::Open(fs, dir.path() + "/timerwheel", 1000);
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.status().message(), HasSubstr("38707200"));
}

// The transform alone (§5.1).
class TransformTimerMessageTest : public ::testing::Test {
 protected:
  // Applies the transform to a message for T queue 3 with `props` at kT0.
  std::optional<TimerRefusal> Apply(std::string props, int32_t sys_flag = 0) {
    props_ = std::move(props);
    msg_ = message::MessageToStore{};
    msg_.topic = "T";
    msg_.queue_id = 3;
    msg_.sys_flag = sys_flag;
    msg_.properties = props_;
    return TransformTimerMessage(config_, kT0 + 123, &msg_, &props_);
  }
  std::optional<std::string_view> Prop(std::string_view name) {
    return message::FindProperty(msg_.properties, name);
  }
  store::MessageStoreConfig config_;
  std::string props_;
  message::MessageToStore msg_;
};

TEST_F(TransformTimerMessageTest, RoundsDownToTheSlotAndParksInTheTimerTopic) {
  ASSERT_FALSE(Apply(Props({{"TIMER_DELIVER_MS", "1700000005500"}})));
  EXPECT_EQ(msg_.topic, "rmq_sys_wheel_timer");
  EXPECT_EQ(msg_.queue_id, 0);
  EXPECT_EQ(Prop("TIMER_OUT_MS"), "1700000005000");
  EXPECT_EQ(Prop("REAL_TOPIC"), "T");
  EXPECT_EQ(Prop("REAL_QID"), "3");
  EXPECT_EQ(Prop("TIMER_DELIVER_MS"), "1700000005500");
  // An exact multiple goes one slot lower (released as that slot ends).
  ASSERT_FALSE(Apply(Props({{"TIMER_DELIVER_MS", "1700000005000"}})));
  EXPECT_EQ(Prop("TIMER_OUT_MS"), "1700000004000");
  // Relative: from the broker's now (kT0 + 123).
  ASSERT_FALSE(Apply(Props({{"TIMER_DELAY_SEC", "10"}})));
  EXPECT_EQ(Prop("TIMER_OUT_MS"), "1700000010000");
  ASSERT_FALSE(Apply(Props({{"TIMER_DELAY_MS", "2500"}})));
  EXPECT_EQ(Prop("TIMER_OUT_MS"), "1700000002000");
  config_.timer_precision_ms = 100;
  ASSERT_FALSE(Apply(Props({{"TIMER_DELAY_MS", "2500"}})));
  EXPECT_EQ(Prop("TIMER_OUT_MS"), "1700000002600");
}

TEST_F(TransformTimerMessageTest, LeavesDueHalfAndDelayLevelMessagesAlone) {
  ASSERT_FALSE(Apply(Props({{"TIMER_DELIVER_MS", "1700000000123"}})));
  EXPECT_EQ(msg_.topic, "T");
  ASSERT_FALSE(Apply(Props({{"TIMER_DELAY_SEC", "-5"}})));
  EXPECT_EQ(msg_.topic, "T");
  ASSERT_FALSE(Apply(Props({{"TIMER_DELAY_SEC", "5"}}),
                     message::sysflag::kTransactionPreparedType));
  EXPECT_EQ(msg_.topic, "T");
  // A delay level wins and the timer request is dropped.
  ASSERT_FALSE(Apply(Props({{"DELAY", "2"}, {"TIMER_DELAY_SEC", "5"}})));
  EXPECT_EQ(msg_.topic, "T");
  EXPECT_FALSE(Prop("TIMER_DELAY_SEC"));
  EXPECT_EQ(Prop("DELAY"), "2");
  // A re-put (TIMER_OUT_MS present) is not transformed again.
  ASSERT_FALSE(Apply(
      Props({{"TIMER_DELAY_SEC", "5"}, {"TIMER_OUT_MS", "1700000004000"}})));
  EXPECT_EQ(msg_.topic, "T");
}

TEST_F(TransformTimerMessageTest, RefusesWhatRocketMQRefuses) {
  for (const auto& props :
       {Props({{"TIMER_DELIVER_MS", "soon"}}),
        Props({{"TIMER_DELAY_SEC", "1.5"}}), Props({{"TIMER_DELAY_MS", "-"}}),
        Props({{"TIMER_DELAY_SEC", "259201"}}),
        Props({{"TIMER_DELAY_SEC", "99999999999999999"}}),
        Props({{"TIMER_DELIVER_MS", "1700259200124"}}),
        Props({{"TIMER_DEL_UNIQKEY", "T+K"}, {"TIMER_DELAY_SEC", "0"}})}) {
    std::optional<TimerRefusal> r = Apply(props);
    ASSERT_TRUE(r.has_value()) << props;
    EXPECT_EQ(r->code, rc::kMessageIllegal);
    EXPECT_EQ(r->remark,
              "timer message illegal, the delay time should not be bigger "
              "than the max delay 259200000ms; or if set del msg, the delay "
              "time should be bigger than the current time");
    EXPECT_EQ(msg_.topic, "T");
  }
  EXPECT_FALSE(Apply(Props({{"TIMER_DELAY_SEC", "259200"}})));
  config_.timer_wheel_enable = false;
  std::optional<TimerRefusal> off = Apply(Props({{"TIMER_DELAY_SEC", "5"}}));
  ASSERT_TRUE(off.has_value());
  EXPECT_EQ(off->code, rc::kSystemError);
  EXPECT_EQ(off->remark,
            "accurate timer message is not enabled, timerWheelEnable is false");
}

struct Stored {
  std::string topic;
  int32_t queue_id = 0;
  std::string body;
  std::string properties;
  int64_t store_timestamp = 0;
  std::optional<std::string_view> Prop(std::string_view name) const {
    return message::FindProperty(properties, name);
  }
};

class TimerMessageServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(client_.Start());
    store_dir_ = dir_.path() + "/store";
    StartBroker();
  }
  void TearDown() override {
    client_.Stop();
    if (broker_) broker_->Shutdown();
  }

  void StartBroker() {
    BrokerConfig bc;
    bc.bind_address = "127.0.0.1";
    bc.listen_port = 0;
    bc.io_threads = 1;
    store::MessageStoreConfig sc;
    sc.store_path_root_dir = store_dir_;
    sc.mapped_file_size_commit_log = 64 << 20;
    sc.mapped_file_size_consume_queue = 300000 * 20;
    sc.max_hash_slot_num = 1000;
    sc.max_index_num = 4000;
    sc.mapped_file_size_timer_log = timer_log_size_;
    sc.timer_roll_window_slot = roll_window_slot_;
    sc.timer_wheel_enable = timer_enable_;
    broker_ = std::make_unique<Broker>(bc, sc, store::io::DefaultFileSystem(),
                                       &clock_);
    ASSERT_OK(broker_->Start());
    addr_ = broker_->broker_addr();
    if (timer_enable_) {
      ASSERT_NE(broker_->timer(), nullptr);
    }
  }
  void StopBroker() {
    client_.CloseConnection(addr_);
    broker_->Shutdown();
    broker_.reset();
  }
  RemotingCommand Call(RemotingCommand req) {
    Result<RemotingCommand> resp =
        client_.InvokeSync(addr_, std::move(req), 5s);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? std::move(resp).value() : RemotingCommand();
  }
  void CreateTopic(const std::string& topic) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kUpdateAndCreateTopic);
    req.SetExt("topic", topic);
    req.SetExt("defaultTopic", "TBW102");
    req.SetExt("readQueueNums", "2");
    req.SetExt("writeQueueNums", "2");
    req.SetExt("perm", "6");
    req.SetExt("topicFilterType", "SINGLE_TAG");
    req.SetExt("order", "false");
    ASSERT_EQ(Call(std::move(req)).code(), rc::kSuccess);
  }
  RemotingCommand Send(const std::string& topic, std::string_view body,
                       const std::string& props, int32_t queue_id = 1) {
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kSendMessageV2);
    req.SetExt("a", "PG");
    req.SetExt("b", topic);
    req.SetExt("c", "TBW102");
    req.SetExt("d", 4);
    req.SetExt("e", queue_id);
    req.SetExt("f", 0);
    req.SetExt("g", kT0);
    req.SetExt("h", 0);
    req.SetExt("i", props);
    req.set_body(body);
    return Call(std::move(req));
  }
  void SendTimer(const std::string& topic, std::string_view body,
                 std::string_view key, std::string_view value) {
    RemotingCommand r =
        Send(topic, body,
             Props({{"TAGS", "TagA"}, {std::string(key), std::string(value)}}));
    ASSERT_EQ(r.code(), rc::kSuccess) << r.remark();
  }
  std::vector<Stored> Pull(const std::string& topic, int32_t queue_id = 1,
                           int64_t offset = 0) {
    EXPECT_TRUE(broker_->store().WaitForDispatch(5000));
    RemotingCommand req =
        RemotingCommand::CreateRequest(req_code::kPullMessage);
    req.SetExt("consumerGroup", "CG");
    req.SetExt("topic", topic);
    req.SetExt("queueId", queue_id);
    req.SetExt("queueOffset", offset);
    req.SetExt("maxMsgNums", 32);
    req.SetExt("sysFlag", 0x4);
    req.SetExt("commitOffset", int64_t{0});
    req.SetExt("suspendTimeoutMillis", int64_t{0});
    req.SetExt("subscription", "*");
    req.SetExt("subVersion", int64_t{0});
    RemotingCommand resp = Call(std::move(req));
    std::vector<Stored> out;
    if (resp.code() != rc::kSuccess) return out;
    std::span<const std::byte> body = resp.body();
    while (!body.empty()) {
      message::RecordCheck c = message::CheckRecord(body, true);
      EXPECT_EQ(c.status, message::RecordStatus::kOk) << c.error;
      if (c.status != message::RecordStatus::kOk) break;
      const message::DecodedRecord& r = c.record;
      out.push_back(Stored{std::string(r.topic), r.queue_id,
                           std::string(AsStringView(r.body)),
                           std::string(r.properties), r.store_timestamp});
      body = body.subspan(static_cast<size_t>(c.size));
    }
    return out;
  }
  std::vector<std::string> Bodies(const std::string& topic) {
    std::vector<std::string> out;
    for (const Stored& s : Pull(topic)) out.push_back(s.body);
    return out;
  }
  // Moves the clock to kT0 + `ms` and lets the timer store act on it with
  // every parked message dispatched.
  void At(int64_t ms) {
    // Parked messages are indexed at the time they arrived, as the timer
    // thread, woken by the dispatch, does without a ManualClock.
    ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
    ASSERT_TRUE(broker_->timer()->RunPassForTesting(60000));
    clock_.Set(kT0 + ms);
    // Releasing thousands of messages in one pass takes a while under the
    // sanitizers.
    ASSERT_TRUE(broker_->timer()->RunPassForTesting(60000));
  }

  testing::TempDir dir_;
  std::string store_dir_;
  ManualClock clock_{kT0};
  int32_t roll_window_slot_ = 172800;
  int32_t timer_log_size_ = 52 * 20 + 16;  // 20 units a segment
  bool timer_enable_ = true;
  remoting::RemotingClient client_;
  std::unique_ptr<Broker> broker_;
  std::string addr_;
};

TEST_F(TimerMessageServiceTest, DeliversAtTheRightSecondInOrderAcrossSlots) {
  CreateTopic("TT");
  SendTimer("TT", "a", "TIMER_DELAY_SEC", "5");               // due kT0+5000
  SendTimer("TT", "b", "TIMER_DELIVER_MS", "1700000003500");  // kT0+4000
  SendTimer("TT", "c", "TIMER_DELAY_MS", "3000");             // kT0+3000
  SendTimer("TT", "d", "TIMER_DELAY_SEC", "3");               // kT0+3000
  ASSERT_EQ(Send("TT", "now", Props({{"TAGS", "TagA"}})).code(), rc::kSuccess);

  // Parked as RocketMQ 5 parks them.
  std::vector<Stored> parked = Pull("rmq_sys_wheel_timer", 0);
  ASSERT_EQ(parked.size(), 4u);
  EXPECT_EQ(parked[0].Prop("TIMER_OUT_MS"), "1700000004000");
  EXPECT_EQ(parked[0].Prop("REAL_TOPIC"), "TT");
  EXPECT_EQ(parked[0].Prop("REAL_QID"), "1");
  EXPECT_EQ(Bodies("TT"), std::vector<std::string>{"now"});

  At(2999);
  EXPECT_EQ(Bodies("TT"), std::vector<std::string>{"now"});
  EXPECT_EQ(broker_->timer()->pending_count(), 4);
  At(3000);
  EXPECT_EQ(Bodies("TT"), (std::vector<std::string>{"now", "c", "d"}));
  At(3999);
  EXPECT_EQ(Bodies("TT").size(), 3u);
  At(4000);
  EXPECT_EQ(Bodies("TT"), (std::vector<std::string>{"now", "c", "d", "b"}));
  At(4999);
  EXPECT_EQ(Bodies("TT").size(), 4u);
  At(5000);
  std::vector<Stored> got = Pull("TT");
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[4].body, "a");
  EXPECT_EQ(got[4].store_timestamp, kT0 + 5000);
  // The delivered record keeps the parked properties and gains the timer
  // store's times (§6.4).
  EXPECT_EQ(got[4].Prop("TIMER_DELAY_SEC"), "5");
  EXPECT_EQ(got[4].Prop("TIMER_OUT_MS"), "1700000004000");
  EXPECT_EQ(got[4].Prop("REAL_TOPIC"), "TT");
  EXPECT_EQ(got[4].Prop("TAGS"), "TagA");
  EXPECT_EQ(got[4].Prop("TIMER_ENQUEUE_MS"), "1700000000000");
  EXPECT_EQ(got[4].Prop("TIMER_DEQUEUE_MS"), "1700000005000");
  EXPECT_EQ(broker_->timer()->delivered_count(), 4);
  EXPECT_EQ(broker_->timer()->pending_count(), 0);
  EXPECT_TRUE(Pull("TT", 0).empty());
  // The files are RocketMQ's, in the store root.
  EXPECT_EQ(std::filesystem::file_size(store_dir_ + "/timerwheel"),
            tf::kWheelFileSize);
  EXPECT_TRUE(std::filesystem::exists(store_dir_ + "/config/timercheck"));
  EXPECT_TRUE(
      std::filesystem::exists(store_dir_ + "/timerlog/00000000000000000000"));
}

TEST_F(TimerMessageServiceTest, RefusesBadTimesOverTheProtocol) {
  CreateTopic("TR");
  RemotingCommand bad = Send("TR", "x", Props({{"TIMER_DELIVER_MS", "soon"}}));
  EXPECT_EQ(bad.code(), rc::kMessageIllegal);
  EXPECT_THAT(bad.remark(), HasSubstr("timer message illegal"));
  RemotingCommand far = Send("TR", "x", Props({{"TIMER_DELAY_SEC", "259201"}}));
  EXPECT_EQ(far.code(), rc::kMessageIllegal);
  EXPECT_THAT(far.remark(), HasSubstr("max delay 259200000ms"));
  // A time already passed is an ordinary message, there at once.
  ASSERT_EQ(
      Send("TR", "past", Props({{"TIMER_DELIVER_MS", "1600000000000"}})).code(),
      rc::kSuccess);
  EXPECT_EQ(Bodies("TR"), std::vector<std::string>{"past"});
  EXPECT_TRUE(Pull("rmq_sys_wheel_timer", 0).empty());

  StopBroker();
  timer_enable_ = false;
  StartBroker();
  EXPECT_EQ(broker_->timer(), nullptr);
  RemotingCommand off = Send("TR", "x", Props({{"TIMER_DELAY_SEC", "3"}}));
  EXPECT_EQ(off.code(), rc::kSystemError);
  EXPECT_THAT(off.remark(), HasSubstr("timerWheelEnable is false"));
}

TEST_F(TimerMessageServiceTest, RollsDeliveriesBeyondTheWindow) {
  // The default window (2 days) and the longest delay (3 days): parked at
  // the window's end, re-parked once, delivered on time.
  CreateTopic("TL");
  SendTimer("TL", "far", "TIMER_DELAY_SEC", "259200");
  At(1000);
  EXPECT_EQ(broker_->timer()->pending_count(), 1);
  At(172800000);
  EXPECT_EQ(broker_->timer()->rolled_count(), 0);
  At(172801000);
  EXPECT_EQ(broker_->timer()->rolled_count(), 1);
  std::vector<Stored> parked = Pull("rmq_sys_wheel_timer", 0);
  ASSERT_EQ(parked.size(), 2u);
  EXPECT_EQ(parked[1].Prop("TIMER_ROLL_TIMES"), "1");
  EXPECT_EQ(parked[1].Prop("TIMER_OUT_MS"), "1700259199000");
  EXPECT_TRUE(Pull("TL").empty());
  At(259199999);
  EXPECT_TRUE(Pull("TL").empty());
  At(259200000);
  std::vector<Stored> got = Pull("TL");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, "far");
  EXPECT_EQ(got[0].Prop("TIMER_ROLL_TIMES"), "1");
  EXPECT_EQ(broker_->timer()->delivered_count(), 1);
}

TEST_F(TimerMessageServiceTest, ASmallWindowRollsAgainAndAgain) {
  StopBroker();
  roll_window_slot_ = 10;  // 10 s
  StartBroker();
  CreateTopic("TS");
  // Due kT0+25000: parked at +10 s (14 s remain, not < W/3), then at +16 s
  // (13 s remain: 3 s beyond the window < W/3, so half a window), then in
  // its own slot.
  SendTimer("TS", "x", "TIMER_DELAY_SEC", "25");
  At(10999);
  EXPECT_EQ(broker_->timer()->rolled_count(), 0);
  At(11000);
  EXPECT_EQ(broker_->timer()->rolled_count(), 1);
  At(16999);
  EXPECT_EQ(broker_->timer()->rolled_count(), 1);
  At(17000);
  EXPECT_EQ(broker_->timer()->rolled_count(), 2);
  At(24999);
  EXPECT_TRUE(Pull("TS").empty());
  At(25000);
  std::vector<Stored> got = Pull("TS");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].Prop("TIMER_ROLL_TIMES"), "2");
}

TEST_F(TimerMessageServiceTest, ACancelInTheSameSlotDropsTheMessage) {
  CreateTopic("TC");
  ASSERT_EQ(
      Send("TC", "keep", Props({{"TIMER_DELAY_SEC", "5"}, {"UNIQ_KEY", "K1"}}))
          .code(),
      rc::kSuccess);
  ASSERT_EQ(
      Send("TC", "drop", Props({{"TIMER_DELAY_SEC", "5"}, {"UNIQ_KEY", "K2"}}))
          .code(),
      rc::kSuccess);
  ASSERT_EQ(Send("TC", "0",
                 Props({{"TIMER_DELIVER_MS", "1700000005000"},
                        {"TIMER_DEL_UNIQKEY", "TC+K2"},
                        {"UNIQ_KEY", "K2"}}))
                .code(),
            rc::kSuccess);
  At(6000);
  EXPECT_EQ(Bodies("TC"), std::vector<std::string>{"keep"});
}

TEST_F(TimerMessageServiceTest, CleanRestartResumesWithoutLossOrRepeats) {
  CreateTopic("TP");
  SendTimer("TP", "5s", "TIMER_DELAY_SEC", "5");
  // More units than one timerlog segment holds.
  for (int i = 0; i < 25; ++i)
    SendTimer("TP", "10s-" + std::to_string(i), "TIMER_DELAY_SEC", "10");
  SendTimer("TP", "15s", "TIMER_DELAY_SEC", "15");
  At(5000);
  EXPECT_EQ(Bodies("TP"), std::vector<std::string>{"5s"});
  StopBroker();
  StartBroker();
  EXPECT_EQ(broker_->timer()->pending_count(), 26);
  At(9999);
  EXPECT_EQ(Bodies("TP"), std::vector<std::string>{"5s"});
  At(10000);
  std::vector<std::string> got;
  for (int64_t off = 0;; off += 32) {
    std::vector<Stored> part = Pull("TP", 1, off);
    for (const Stored& s : part) got.push_back(s.body);
    if (part.size() < 32) break;
  }
  ASSERT_EQ(got.size(), 26u);
  EXPECT_EQ(got[1], "10s-0");
  EXPECT_EQ(got[25], "10s-24");
  At(15000);
  EXPECT_EQ(Pull("TP", 1, 26).size(), 1u);
  EXPECT_EQ(broker_->timer()->pending_count(), 0);
}

// kill -9 leaves the files as they were, with the checkpoint as last
// written; a copy of the live store directory is that state.
TEST_F(TimerMessageServiceTest, UncleanStopDeliversWhatWasPendingOnce) {
  CreateTopic("TK");
  SendTimer("TK", "early", "TIMER_DELAY_SEC", "2");
  SendTimer("TK", "late", "TIMER_DELAY_SEC", "4");
  At(2000);  // "early" delivered; the checkpoint (1 s interval) written
  EXPECT_EQ(Bodies("TK"), std::vector<std::string>{"early"});
  SendTimer("TK", "after-checkpoint", "TIMER_DELAY_SEC", "3");  // kT0+5000
  ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
  ASSERT_TRUE(broker_->timer()->RunPassForTesting());  // indexed, not saved
  const std::string crashed = dir_.path() + "/crashed";
  std::filesystem::copy(store_dir_, crashed,
                        std::filesystem::copy_options::recursive);
  ASSERT_TRUE(std::filesystem::exists(crashed + "/abort"));
  StopBroker();
  store_dir_ = crashed;
  StartBroker();
  EXPECT_FALSE(broker_->store().recovery_report().last_exit_ok);
  At(3999);
  EXPECT_EQ(Bodies("TK"), std::vector<std::string>{"early"});
  At(4000);
  EXPECT_EQ(Bodies("TK"), (std::vector<std::string>{"early", "late"}));
  At(5000);
  EXPECT_EQ(Bodies("TK"),
            (std::vector<std::string>{"early", "late", "after-checkpoint"}));
  At(8000);
  EXPECT_EQ(Bodies("TK").size(), 3u);
}

// Many pending timers in one broker: put through the same transform as a
// send, straight into the store (that many round trips would take minutes
// under the sanitizers); all released on time, none early, none twice. The
// suite runs 10 000 (seconds); `make test-timers` runs 100 000
// (THRUSTER_TIMER_PENDING).
TEST_F(TimerMessageServiceTest, ManyPendingTimersAllFireOnTime) {
  const char* env = std::getenv("THRUSTER_TIMER_PENDING");
  const int kCount = env != nullptr ? std::atoi(env) / 100 * 100 : 10000;
  ASSERT_GT(kCount, 0);
  std::printf("%d pending timers\n", kCount);
  constexpr int kSlots = 100;
  StopBroker();
  timer_log_size_ = 8 << 20;
  StartBroker();
  CreateTopic("TH");
  for (int i = 0; i < kCount; ++i) {
    std::string props =
        Props({{"TIMER_DELAY_SEC", std::to_string(1 + i % kSlots)}});
    message::MessageToStore msg;
    msg.topic = "TH";
    msg.queue_id = 0;
    msg.body = AsBytes("x");
    msg.properties = props;
    msg.born_timestamp = kT0;
    ASSERT_FALSE(
        TransformTimerMessage(broker_->store().config(), kT0, &msg, &props));
    ASSERT_EQ(msg.topic, "rmq_sys_wheel_timer");
    ASSERT_TRUE(broker_->store().PutMessage(msg).ok());
  }
  At(0);
  EXPECT_EQ(broker_->timer()->pending_count(), kCount);
  for (int s = 1; s <= kSlots; s += 33) {
    At(int64_t{s} * 1000 - 1);
    ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
    EXPECT_EQ(broker_->store().GetMaxOffsetInQueue("TH", 0),
              int64_t{s - 1} * (kCount / kSlots))
        << s;
  }
  At(int64_t{kSlots} * 1000);
  ASSERT_TRUE(broker_->store().WaitForDispatch(5000));
  EXPECT_EQ(broker_->store().GetMaxOffsetInQueue("TH", 0), kCount);
  EXPECT_EQ(broker_->timer()->delivered_count(), kCount);
  EXPECT_EQ(broker_->timer()->pending_count(), 0);
}

}  // namespace
}  // namespace thruster::broker
