#pragma once

// A request processor's world without a socket: a store on MemFileSystem, the
// broker's managers, a BrokerContext, and responders that record the answers
// as the peer would decode them.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "broker/broker_stats.h"
#include "broker/client_manager.h"
#include "broker/consumer_offset_manager.h"
#include "broker/pull_request_hold_service.h"
#include "broker/rebalance_lock_manager.h"
#include "broker/request_processor.h"
#include "broker/topic_config_manager.h"
#include "common/coding.h"
#include "message/commit_log_format.h"
#include "message/host_address.h"
#include "message/message.h"
#include "message/message_id.h"
#include "message/properties.h"
#include "remoting/frame_codec.h"
#include "remoting/json.h"
#include "remoting/pull_sys_flag.h"
#include "store/message_store.h"
#include "tests/broker/record_util.h"
#include "tests/support/mem_file_system.h"
#include "tests/support/test_util.h"

namespace thruster::broker {

namespace rc = remoting::response_code;
namespace req_code = remoting::request_code;
using remoting::RemotingCommand;

// Collects the answers sent through the responders it makes, from any thread
// (a put's completion, `pull-hold`). Each answer is encoded into a frame and
// decoded again, so a test sees what a client would (body segments joined).
class AnswerRecorder {
 public:
  remoting::Responder For(const RemotingCommand& request) {
    return remoting::Responder(
        [this](RemotingCommand answer) {
          Result<std::string> frame = remoting::EncodeFrame(answer);
          EXPECT_TRUE(frame.ok()) << frame.status().ToString();
          RemotingCommand decoded;
          if (frame.ok()) {
            Result<RemotingCommand> d = remoting::DecodeFrame(std::as_bytes(
                std::span<const char>(frame->data(), frame->size())));
            EXPECT_TRUE(d.ok()) << d.status().ToString();
            if (d.ok()) decoded = std::move(d).value();
          }
          std::lock_guard<std::mutex> lock(mu_);
          answers_.push_back(std::move(decoded));
          cv_.notify_all();
        },
        request);
  }
  // The n-th answer (1-based), waiting up to 5 s for it; code -1 when none
  // came.
  RemotingCommand Wait(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    const bool got = cv_.wait_for(lock, std::chrono::seconds(5),
                                  [&] { return answers_.size() >= n; });
    EXPECT_TRUE(got) << "no answer #" << n;
    if (!got) {
      RemotingCommand none;
      none.set_code(-1);
      return none;
    }
    return answers_[n - 1];
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return answers_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<RemotingCommand> answers_;
};

// Owns what the Broker would hand its processors. A test constructs the
// processor under test from these members in its own fixture.
class ProcessorTest : public ::testing::Test {
 protected:
  ProcessorTest() {
    store_config_.store_path_root_dir = "/store";
    store_config_.mapped_file_size_commit_log = 1 << 20;
    store_config_.mapped_file_size_consume_queue = 20 * 1000;
    store_config_.max_hash_slot_num = 64;
    store_config_.max_index_num = 256;
    store_config_.flush_interval_commit_log = 10;
    store_config_.flush_interval_consume_queue = 10;
    store_config_.pre_touch_mapped_file = false;
    store_config_.max_message_size = 64 * 1024;
    config_.broker_name = "broker-t";
    config_.broker_cluster_name = "TestCluster";
  }
  // Stops what may still call into the processor before the fixture that
  // owns it goes away.
  void TearDown() override {
    if (hold_) hold_->Stop();
    if (store_) store_->Shutdown();
  }

  void SetUp() override {
    store_ = std::make_unique<store::MessageStore>(&fs_, store_config_,
                                                   SystemClock::Default());
    ASSERT_OK(store_->Load());
    topics_ = std::make_unique<TopicConfigManager>(
        &fs_, store_config_.ConfigDir(),
        TopicConfigManagerOptions{
            config_.broker_cluster_name, config_.broker_name,
            config_.auto_create_topic_enable, config_.default_topic_queue_nums},
        SystemClock::Default());
    offsets_ = std::make_unique<ConsumerOffsetManager>(
        &fs_, store_config_.ConfigDir());
    ASSERT_OK(topics_->Load());
    ASSERT_OK(offsets_->Load());
    hold_ = std::make_unique<PullRequestHoldService>(
        [this](HeldPull p) { OnHeldPull(std::move(p)); },
        [this](std::string_view topic, int32_t queue_id) {
          return store_->GetMaxOffsetInQueue(topic, queue_id);
        },
        SystemClock::Default());
    store_->SetMessageArrivingListener(
        [this](std::string_view topic, int32_t queue_id, int64_t next_offset,
               int64_t tags_code, int64_t) {
          hold_->NotifyMessageArriving(topic, queue_id, next_offset, tags_code);
        });
    ASSERT_OK(store_->Start());
    hold_->Start();
  }

  // What the hold service does with a woken or expired pull (the pull test
  // hands it to its processor).
  virtual void OnHeldPull(HeldPull) {}

  // Drives `p` with `req` and returns its answer (waiting for an asynchronous
  // one).
  RemotingCommand Call(RequestProcessor& p, RemotingCommand req) {
    const size_t n = answers_.count() + 1;
    remoting::Responder r = answers_.For(req);
    p.ProcessRequest(std::move(req), std::move(r));
    return answers_.Wait(n);
  }

  static RemotingCommand Request(
      int32_t code,
      std::initializer_list<std::pair<std::string, std::string>> ext,
      std::string_view body = {}) {
    RemotingCommand req = RemotingCommand::CreateRequest(code);
    for (const auto& [k, v] : ext) req.SetExt(k, v);
    if (!body.empty()) req.set_body(body);
    return req;
  }

  void CreateTopic(const std::string& topic, int32_t queues = 4,
                   int32_t perm = 6) {
    remoting::TopicConfig tc;
    tc.topic_name = topic;
    tc.read_queue_nums = queues;
    tc.write_queue_nums = queues;
    tc.perm = perm;
    ASSERT_OK(topics_->Update(tc));
  }

  // Appends a message straight to the store and waits until it is
  // dispatched; its phys offset.
  int64_t Put(const std::string& topic, int32_t queue_id,
              const std::string& body, const std::string& tags = "TagA",
              const std::string& keys = "") {
    std::map<std::string, std::string, std::less<>> props{{"TAGS", tags}};
    if (!keys.empty()) props["KEYS"] = keys;
    const std::string p = message::EncodeProperties(props);
    message::MessageToStore m;
    m.topic = topic;
    m.queue_id = queue_id;
    m.body = AsBytes(body);
    m.properties = p;
    m.born_timestamp = 1700000000000;
    m.born_host = message::HostAddress::V4(127, 0, 0, 1, 50000);
    m.store_host = store_host_;
    store::PutResult r = store_->PutMessage(m);
    EXPECT_TRUE(r.ok()) << store::PutStatusName(r.status);
    EXPECT_TRUE(store_->WaitForDispatch(5000));
    return r.phys_offset;
  }

  static remoting::json::Value Json(const RemotingCommand& resp) {
    Result<remoting::json::Value> v = remoting::json::Parse(resp.body_view());
    EXPECT_TRUE(v.ok()) << resp.body_view();
    return v.ok() ? *v : remoting::json::Value();
  }

  int registrations() const { return registrations_.load(); }

  testing::MemFileSystem fs_;
  BrokerConfig config_;
  store::MessageStoreConfig store_config_;
  message::HostAddress store_host_ =
      message::HostAddress::V4(127, 0, 0, 1, 10911);
  std::atomic<int> registrations_{0};
  BrokerContext context_{config_, *SystemClock::Default(), store_host_,
                         [this] { registrations_.fetch_add(1); },
                         1700000000000};
  AnswerRecorder answers_;
  std::unique_ptr<store::MessageStore> store_;
  std::unique_ptr<TopicConfigManager> topics_;
  std::unique_ptr<ConsumerOffsetManager> offsets_;
  ClientManager clients_;
  RebalanceLockManager locks_;
  BrokerStats stats_;
  std::unique_ptr<PullRequestHoldService> hold_;
};

}  // namespace thruster::broker
